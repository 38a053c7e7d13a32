import FlotillaProtocol
import Foundation

/// A group's progress within a rollout.
struct RolloutGroupProgress: Sendable {
    var version: Int64
    var group: String
    var policy: RolloutPolicy
    var waves: Int
    var wavesStarted: Int
    var waveStartedAt: Date?
    var failureBaseline: Int
}

/// Counts of a rollout's targets by group, wave, status and whether the node is online.
struct TargetCount: Sendable {
    var group: String
    var wave: Int
    var status: String
    var online: Bool
    var count: Int
}

/// One release a node was sent, and how it ended.
struct NodeReleaseEntry: Sendable, Equatable {
    var version: Int64
    var group: String
    var status: String
    var errorCode: String?
    var message: String?
    var updatedAt: Date
}

/// Rollouts: their state, waves and per-node targets.
protocol RolloutStore: Sendable {
    /// Rollouts in `states`, oldest first.
    func rolloutVersions(states: [RolloutState]) async throws(CoordinatorError) -> [Int64]
    /// Rollouts still running or paused, newest first (at most 50).
    func activeRolloutVersions() async throws(CoordinatorError) -> [Int64]
    /// Every rollout version, newest first.
    func allRolloutVersions(limit: Int) async throws(CoordinatorError) -> [Int64]
    func rolloutGroups(version: Int64) async throws(CoordinatorError) -> [RolloutGroupProgress]
    /// Target counts of a rollout; a node is online when seen since `onlineSince`.
    func targetCounts(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [TargetCount]
    /// Starts wave `wave` of a group: its nodes get the release. Only when the group's next wave
    /// is `wave` (so two coordinators that both decide to start it start it once); returns the
    /// nodes assigned, empty when the wave had already started.
    func startWave(version: Int64, group: String, wave: Int, now: Date) async throws(CoordinatorError) -> [String]
    /// Sets a rollout's state when it is currently in one of `from`; true when it changed.
    func setRolloutState(version: Int64, to state: RolloutState, reason: String?, from: [RolloutState]) async throws(CoordinatorError) -> Bool
    /// A rollout's state, reason and creation time.
    func rolloutState(version: Int64) async throws(CoordinatorError) -> (state: RolloutState, reason: String?, createdAt: Date)?
    /// Per-node rows of a rollout.
    func rolloutNodes(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [RolloutNodeView]
    /// Ids of nodes seen since `since` (canaries go to online nodes first).
    func nodesSeen(since: Date) async throws(CoordinatorError) -> Set<String>
    /// The releases rolled out to `nodeID`, newest first.
    func releaseHistory(nodeID: String, limit: Int) async throws(CoordinatorError) -> [NodeReleaseEntry]
}

extension RolloutStore {
    func releaseHistory(nodeID: String) async throws(CoordinatorError) -> [NodeReleaseEntry] {
        try await releaseHistory(nodeID: nodeID, limit: 20)
    }
}
