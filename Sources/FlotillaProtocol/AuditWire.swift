/// One entry of `GET /admin/v1/audit`: an admin action, who did it from where, and the chain
/// hashes that make the log tamper-evident.
public struct AuditEntryView: Codable, Sendable, Equatable {
    public var sequence: Int64
    public var at: String
    /// `cli:admin-token/<fingerprint>` or `dashboard:session/<id>`.
    public var actor: String
    /// The caller's IP address.
    public var source: String
    public var action: String
    public var target: String
    public var details: [String: String]
    public var previousHash: String
    public var hash: String

    public init(sequence: Int64, at: String, actor: String, source: String, action: String, target: String,
                details: [String: String], previousHash: String, hash: String) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.source = source
        self.action = action
        self.target = target
        self.details = details
        self.previousHash = previousHash
        self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case sequence, at, actor, source, action, target, details, hash
        case previousHash = "previous_hash"
    }
}

/// `GET /admin/v1/audit/verify`: whether the chain is intact, and every break it found.
public struct AuditVerifyReport: Codable, Sendable, Equatable {
    public var entries: Int
    public var intact: Bool
    /// One sentence per break, naming the entry (`entry #7 (rollout.pause ...) was edited ...`).
    public var problems: [String]

    public init(entries: Int, intact: Bool, problems: [String]) {
        self.entries = entries
        self.intact = intact
        self.problems = problems
    }
}
