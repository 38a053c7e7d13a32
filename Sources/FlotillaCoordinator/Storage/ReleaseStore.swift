import FlotillaProtocol
import Foundation

/// A group's stored release.
struct StoredRelease: Sendable {
    var version: Int64
    var group: String
    var spec: PublishGroup
    var envelope: Data
    var digest: String
    var createdAt: Date
    var expiresAt: Date

    /// The manifest signed in `envelope`, or nil when it cannot be read.
    func manifest() -> ReleaseManifest? {
        guard let sealed = try? JSONDecoder().decode(SignedEnvelope.self, from: envelope), let payload = Data(base64Encoded: sealed.signed)
        else { return nil }
        return try? JSONDecoder().decode(ReleaseManifest.self, from: payload)
    }
}

/// Everything one publish writes, in one transaction.
struct Publication: Sendable {
    struct GroupRelease: Sendable {
        var group: String
        var spec: PublishGroup
        var envelope: Data
        var digest: String
        var expiresAt: Date
        var blobs: [(sha256: String, data: Data)]
        var policy: RolloutPolicy
        /// Node ids by wave.
        var waves: [[String]]
    }
    var version: Int64
    var groups: [GroupRelease]
    var now: Date
}

/// One node's release report, queued for a group commit.
struct QueuedReport: Sendable {
    var nodeID: String
    var group: String
    var report: ReleaseReport
    var at: Date
}

/// The fleet's trust chain documents, signed releases, their blobs and what each node should run.
protocol ReleaseStore: Sendable {
    /// Every root document envelope, oldest first.
    func rootDocuments() async throws(CoordinatorError) -> [Data]
    /// Appends root document `version` together with the sealed keys it certifies (name →
    /// sealed bytes, replacing those names; an empty value removes one), in one transaction.
    /// `conflict` when another coordinator appended that version first.
    func appendRootDocument(version: Int64, envelope: Data, now: Date, sealedKeys: [String: [UInt8]]) async throws(CoordinatorError)
    /// The newest release of every group.
    func latestReleases() async throws(CoordinatorError) -> [String: StoredRelease]
    /// A group's releases, newest first.
    func releases(group: String) async throws(CoordinatorError) -> [StoredRelease]
    /// One group's release of `version`.
    func release(version: Int64, group: String) async throws(CoordinatorError) -> StoredRelease?
    /// The highest release version so far (0 before the first).
    func maxReleaseVersion() async throws(CoordinatorError) -> Int64
    /// Stores a publication: blobs, signed manifests, the rollout with its waves, the first
    /// wave's assignments and, with `gateway`, that gateway configuration, in one transaction.
    /// Older rollouts of the same groups stop at the wave they reached. `conflict` when another
    /// publish took `version` first. Returns the assignments made (node id → group).
    func storePublication(_ publication: Publication, version: Int64, gateway: GatewayChange?) async throws(CoordinatorError) -> [String: String]
    /// Replaces a release's envelope with a re-signed one (same version and content, later
    /// expiry). Returns the nodes assigned that release.
    func replaceEnvelope(version: Int64, group: String, envelope: Data, digest: String, expiresAt: Date) async throws(CoordinatorError) -> [String]
    /// A blob's bytes, only if it belongs to a release of `group`.
    func blob(sha256: String, group: String) async throws(CoordinatorError) -> Data?
    /// Every node's assigned release with its envelope, for the in-memory board at start.
    func assignedReleases() async throws(CoordinatorError) -> [String: DesiredRelease]
    /// The nodes assigned `group`'s release `version` now, with it (another coordinator
    /// assigned or re-signed it: the board here follows).
    func assignedReleases(version: Int64, group: String) async throws(CoordinatorError) -> [String: DesiredRelease]
    /// How the report writer's group commit records a batch of node reports.
    var reportCommit: BatchCommit<QueuedReport> { get }
}
