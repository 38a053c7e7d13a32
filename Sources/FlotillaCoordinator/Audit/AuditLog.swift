import Crypto
import Foundation

/// Who did an admin action, as the audit log names them: an admin token (by a short fingerprint
/// of its hash, never the token) or a dashboard session (by a short id derived from its hash).
struct AuditActor: Sendable, Equatable {
    /// `cli:admin-token/3f2a9c1e` or `dashboard:session/8b01d2aa`.
    var name: String
    /// The caller's IP address.
    var source: String

    /// A dashboard session, named by the first 8 hex digits of its id's hash.
    static func dashboard(sessionHashHex: String, source: String) -> AuditActor {
        AuditActor(name: "dashboard:session/" + String(sessionHashHex.prefix(8)), source: source)
    }
}

/// An entry before it is appended.
struct AuditRecord: Sendable, Equatable {
    /// Dotted action name: `token.create`, `rollout.pause`, `dashboard.sign_in`...
    var action: String
    /// What the action was applied to (a node name, a rollout version, a provider), or "".
    var target: String
    /// More facts about the action; never a secret.
    var details: [String: String]

    init(_ action: String, target: String = "", details: [String: String] = [:]) {
        self.action = action
        self.target = target
        self.details = details
    }
}

/// An appended entry: its place in the log, when, by whom, and the chain hashes.
struct AuditEntry: Sendable, Equatable {
    var sequence: Int64
    /// RFC 3339 with milliseconds, exactly as hashed.
    var at: String
    var actor: String
    var source: String
    var action: String
    var target: String
    /// `details` as JSON with sorted keys, exactly as hashed.
    var detailsJSON: String
    /// Hex SHA-256 of the entry before it (64 zeros for the first).
    var previousHash: String
    /// Hex SHA-256 over `previousHash` and this entry's fields.
    var hash: String
}

/// The tamper-evident log of admin actions. Appends are chained: each entry stores the SHA-256
/// of the one before it and its own hash covers that, so an edited, removed or reordered entry
/// breaks the chain where it happened. The SQLite implementation is `SQLiteAuditLog`.
protocol AuditLog: Sendable {
    /// Appends `record` as done by `actor` now, and returns the stored entry.
    @discardableResult
    func append(_ record: AuditRecord, actor: AuditActor) async throws(CoordinatorError) -> AuditEntry
    /// Entries at or after `since`, oldest first, at most `limit` (the newest ones when more).
    func entries(since: Date?, limit: Int) async throws(CoordinatorError) -> [AuditEntry]
    /// Walks the whole chain and reports every break.
    func verify() async throws(CoordinatorError) -> AuditVerification
}

/// What `AuditLog.verify` found.
struct AuditVerification: Sendable, Equatable {
    var entries: Int
    /// One sentence per break, naming the entry; empty when the log is intact.
    var problems: [String]
}

/// The hash chain's rules, shared by every `AuditLog` implementation.
enum AuditChain {
    static let genesis = String(repeating: "0", count: 64)

    /// Hex SHA-256 over the previous hash and the fields, each length-prefixed so no two
    /// different entries hash the same bytes. The sequence number is not hashed: order is what
    /// the links say, so renumbered rows show up as entries out of place.
    static func hash(previous: String, at: String, actor: String, source: String, action: String, target: String, details: String) -> String {
        var text = "flotilla-audit-v1\n"
        for field in [previous, at, actor, source, action, target, details] {
            text += "\(field.utf8.count):\(field)\n"
        }
        return Secrets.hex(SHA256.hash(data: Data(text.utf8)))
    }

    static func hash(of entry: AuditEntry) -> String {
        hash(previous: entry.previousHash, at: entry.at, actor: entry.actor, source: entry.source, action: entry.action,
             target: entry.target, details: entry.detailsJSON)
    }

    /// `details` as JSON with sorted keys.
    static func detailsJSON(_ details: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(details)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Checks `entries` (in stored order) against the chain and, when given, the newest entry the
    /// coordinator recorded outside the database (`head`), which reveals entries cut off the end.
    /// `headMissing`: entries exist but the head file is absent or unreadable.
    static func verify(_ entries: [AuditEntry], head: (sequence: Int64, hash: String)?, headMissing: Bool = false) -> AuditVerification {
        var problems: [String] = []
        let positionOfHash = Dictionary(entries.enumerated().map { ($0.element.hash, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var expectedPrevious = genesis
        for (index, entry) in entries.enumerated() {
            let recomputed = hash(of: entry)
            if recomputed != entry.hash {
                problems.append("entry #\(entry.sequence) (\(entry.action) at \(entry.at)) was edited: its contents do not match its hash")
            } else if entry.previousHash != expectedPrevious {
                let before = index == 0 ? "the start of the log" : "entry #\(entries[index - 1].sequence)"
                if let earlier = positionOfHash[entry.previousHash] {
                    problems.append("entry #\(entry.sequence) (\(entry.action)) is out of order: it was written right after entry #\(entries[earlier].sequence), not after \(before)")
                } else if entry.previousHash == genesis {
                    problems.append("entry #\(entry.sequence) (\(entry.action)) is out of order: it was the first entry, but follows \(before)")
                } else {
                    problems.append("entry #\(entry.sequence) (\(entry.action)) does not follow \(before): an entry between them was removed or edited")
                }
            }
            expectedPrevious = entry.hash
        }
        if let head {
            if let last = entries.last, last.sequence >= head.sequence {
                if let anchored = entries.first(where: { $0.sequence == head.sequence }), anchored.hash != head.hash, positionOfHash[head.hash] == nil {
                    problems.append("entry #\(head.sequence) is not the entry the coordinator last recorded: it was replaced")
                } else if entries.first(where: { $0.sequence == head.sequence }) == nil, positionOfHash[head.hash] == nil {
                    problems.append("entry #\(head.sequence), the newest the coordinator recorded, was removed")
                }
            } else {
                let newest = entries.last.map { "#\($0.sequence)" } ?? "none"
                problems.append("the newest entries were removed: the coordinator last recorded entry #\(head.sequence), the log ends at \(newest)")
            }
        }
        if headMissing, !entries.isEmpty {
            problems.append("audit.head, the newest entry the coordinator recorded, is missing or unreadable: entries cut off the end cannot be ruled out")
        }
        return AuditVerification(entries: entries.count, problems: problems)
    }
}
