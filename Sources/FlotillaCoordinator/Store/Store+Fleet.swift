import FlotillaProtocol
import Foundation
import GRDB

/// Fleet-wide aggregates for the dashboard's overview and `/metrics`, computed in SQL so they
/// stay cheap at 10,000 nodes.
extension Store {
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
    func nodeStatusCounts(now: Date, interval: TimeInterval) throws(CoordinatorError) -> [(group: String, status: NodeStatus, count: Int)] {
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
    func rolloutStateCounts() throws(CoordinatorError) -> [RolloutState: Int] {
        try read { db in
            var counts: [RolloutState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS count FROM rollouts GROUP BY state") {
                if let state = RolloutState(rawValue: row["state"]) { counts[state] = row["count"] }
            }
            return counts
        }
    }

    /// Release versions published so far.
    func releaseCount() throws(CoordinatorError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT version) FROM releases") ?? 0 }
    }
}
