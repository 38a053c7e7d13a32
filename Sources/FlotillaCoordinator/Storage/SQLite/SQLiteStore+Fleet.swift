import FlotillaProtocol
import Foundation
import GRDB

/// Fleet-wide aggregates for the dashboard's overview and `/metrics`, computed in SQL so they
/// stay cheap at 10,000 nodes.
extension SQLiteStore {
    /// `NodeStatusRule` as an SQL expression over `nodes n LEFT JOIN node_state s`; bind
    /// `statusArguments(now:interval:)` for its two placeholders.
    static let statusSQL = """
        CASE WHEN n.admin_state = 'revoked' THEN 'revoked' WHEN n.admin_state = 'pending' THEN 'pending'
             WHEN s.last_seen IS NULL THEN 'offline' WHEN s.last_seen >= ? THEN 'online'
             WHEN s.last_seen >= ? THEN 'stale' ELSE 'offline' END
        """

    /// The online and stale cut-offs of `NodeStatusRule` at `now`.
    static func statusArguments(now: Date, interval: TimeInterval) -> StatementArguments {
        [now.timeIntervalSince1970 - 2 * interval, now.timeIntervalSince1970 - 10 * interval]
    }

    /// Node counts by enrolled group and status.
    func nodeStatusCounts(now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [(group: String, status: NodeStatus, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.group_name AS group_name, \(Self.statusSQL) AS status, COUNT(*) AS count
                FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id GROUP BY 1, 2 ORDER BY 1, 2
                """, arguments: Self.statusArguments(now: now, interval: interval)).compactMap { row in
                guard let status = NodeStatus(rawValue: row["status"]) else { return nil }
                return (row["group_name"], status, row["count"])
            }
        }
    }

    /// Rollout counts by state.
    func rolloutStateCounts() async throws(CoordinatorError) -> [RolloutState: Int] {
        try read { db in
            var counts: [RolloutState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS count FROM rollouts GROUP BY state") {
                if let state = RolloutState(rawValue: row["state"]) { counts[state] = row["count"] }
            }
            return counts
        }
    }

    /// Release versions published so far.
    func releaseCount() async throws(CoordinatorError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT version) FROM releases") ?? 0 }
    }
}

extension SQLiteStore {
    /// Rollouts still running or paused, newest first.
    func activeRolloutVersions() async throws(CoordinatorError) -> [Int64] {
        try read { db in
            try Int64.fetchAll(db, sql: "SELECT version FROM rollouts WHERE state IN ('running', 'paused') ORDER BY version DESC LIMIT 50")
        }
    }
}

extension SQLiteStore {
    /// The nodes matching `query`'s filters: how many in all, and the page's rows in its order.
    func nodePage(_ query: NodePageQuery, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> (total: Int, nodes: [NodeView]) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let group = query.group {
            clauses.append("n.group_name = ?")
            arguments += [group]
        }
        if let status = query.status {
            clauses.append("(\(Self.statusSQL)) = ?")
            arguments += Self.statusArguments(now: now, interval: interval)
            arguments += [status.rawValue]
        }
        if let search = query.search, !search.isEmpty {
            clauses.append("n.name LIKE ? ESCAPE '\\'")
            arguments += ["%" + search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_") + "%"]
        }
        let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let direction = query.descending ? "DESC" : "ASC"
        var orderArguments: StatementArguments = []
        let order: String
        switch query.sort {
        case .name: order = "n.name \(direction)"
        case .group: order = "n.group_name \(direction), n.name"
        case .status:
            order = "(\(Self.statusSQL)) \(direction), n.name"
            orderArguments = Self.statusArguments(now: now, interval: interval)
        case .lastSeen: order = "s.last_seen IS NULL, s.last_seen \(direction), n.name"
        case .cpu: order = "s.cpu_percent IS NULL, s.cpu_percent \(direction), n.name"
        case .temperature: order = "s.temperature_c IS NULL, s.temperature_c \(direction), n.name"
        case .release: order = "r.reported_version IS NULL, r.reported_version \(direction), n.name"
        }
        let from = "FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id LEFT JOIN node_releases r ON r.node_id = n.id"
        let decoder = JSONDecoder()
        return try read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) \(from)\(filter)", arguments: arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT n.*, s.*, r.reported_version AS release_version, r.status AS release_status, r.error_code AS release_error
                \(from)\(filter) ORDER BY \(order) LIMIT ? OFFSET ?
                """, arguments: arguments + orderArguments + [query.limit, query.offset])
            return (total, rows.map { Self.nodeView($0, decoder: decoder, now: now, interval: interval) })
        }
    }

    /// Every enrolled group name, sorted.
    func groupNames() async throws(CoordinatorError) -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT DISTINCT group_name FROM nodes ORDER BY 1") }
    }
}

extension SQLiteStore {
    /// The releases rolled out to `nodeID`, newest first.
    func releaseHistory(nodeID: String, limit: Int) async throws(CoordinatorError) -> [NodeReleaseEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT version, group_name, status, error_code, message, updated_at FROM rollout_targets
                WHERE node_id = ? ORDER BY version DESC LIMIT ?
                """, arguments: [nodeID, limit]).map {
                NodeReleaseEntry(version: $0["version"], group: $0["group_name"], status: $0["status"], errorCode: $0["error_code"],
                                 message: $0["message"], updatedAt: Date(timeIntervalSince1970: $0["updated_at"]))
            }
        }
    }
}
