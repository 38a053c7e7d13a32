import FlotillaProtocol
import Foundation

/// A page of the nodes table: filters, order and window, all applied in the database.
struct NodePageQuery: Sendable, Equatable {
    enum Sort: String, CaseIterable, Sendable {
        case name, group, status, lastSeen = "last_seen", cpu, temperature, release
    }

    var group: String?
    var status: NodeStatus?
    /// Part of a node name.
    var search: String?
    var sort: Sort = .name
    var descending = false
    var offset = 0
    var limit = 50
}

/// The operator views: the fleet table, counts for the overview and `/metrics`.
protocol FleetViewStore: Sendable {
    /// Every node (optionally of one group, or the one named `name`) with its latest state and
    /// release, by group and name.
    func nodeViews(group: String?, name: String?, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [NodeView]
    /// The nodes matching `query`'s filters: how many in all, and the page's rows in its order.
    func nodePage(_ query: NodePageQuery, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> (total: Int, nodes: [NodeView])
    /// Node counts by enrolled group and status.
    func nodeStatusCounts(now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [(group: String, status: NodeStatus, count: Int)]
    /// Rollout counts by state.
    func rolloutStateCounts() async throws(CoordinatorError) -> [RolloutState: Int]
    /// Release versions published so far.
    func releaseCount() async throws(CoordinatorError) -> Int
    /// Every enrolled group name, sorted.
    func groupNames() async throws(CoordinatorError) -> [String]
}

extension FleetViewStore {
    func nodeViews(group: String?, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [NodeView] {
        try await nodeViews(group: group, name: nil, now: now, interval: interval)
    }
}
