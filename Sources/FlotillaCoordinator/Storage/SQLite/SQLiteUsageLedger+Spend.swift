import Foundation
import GRDB
import Synchronization

/// Spend per node and per day from the `usage_daily` roll-up, for the fleet view and dashboard.
extension SQLiteUsageLedger {
    func nodeSpend(today: Date, nodeIDs: [String]?) async throws(CoordinatorError) -> [String: NodeSpend] {
        let day = UTCCalendar.day(today)
        let monthStart = UTCCalendar.day(UTCCalendar.startOfMonth(today))
        var sql = """
            SELECT node_id, SUM(CASE WHEN day = ? THEN cost_nanos ELSE 0 END) AS today, SUM(cost_nanos) AS month
            FROM usage_daily WHERE day >= ? AND day <= ?
            """
        var arguments: StatementArguments = [day, monthStart, day]
        if let nodeIDs {
            guard !nodeIDs.isEmpty else { return [:] }
            // A page's nodes: read through the (node_id, day) index instead of the whole month.
            sql += " AND node_id IN (\(Array(repeating: "?", count: nodeIDs.count).joined(separator: ",")))"
            arguments += StatementArguments(nodeIDs)
        }
        sql += " GROUP BY node_id"
        let (query, values) = (sql, arguments)
        return try await read { db in
            var result: [String: NodeSpend] = [:]
            for row in try Row.fetchAll(db, sql: query, arguments: values) {
                result[row["node_id"]] = NodeSpend(todayNanos: row["today"], monthNanos: row["month"])
            }
            return result
        }
    }

    func dailySpend(fromDay: String, toDay: String, nodeID: String?) async throws(CoordinatorError) -> [DailySpend] {
        guard nodeID == nil else { return try await querySpend(fromDay: fromDay, toDay: toDay, nodeID: nodeID) }
        // Days before yesterday are closed (no call lasts a day), so the fleet's figures for
        // them are read once and kept; only yesterday and today are summed again.
        let openFrom = UTCCalendar.day(Date().addingTimeInterval(-86_400))
        guard fromDay < openFrom else { return try await querySpend(fromDay: fromDay, toDay: toDay, nodeID: nil) }
        let closedTo = min(toDay, UTCCalendar.day(Date().addingTimeInterval(-2 * 86_400)))
        let key = fromDay + "..." + closedTo
        let closed: [DailySpend]
        if let cached = closedDays.rows(for: key) {
            closed = cached
        } else {
            closed = try await querySpend(fromDay: fromDay, toDay: closedTo, nodeID: nil)
            closedDays.store(closed, for: key)
        }
        guard toDay >= openFrom else { return closed }
        return closed + (try await querySpend(fromDay: openFrom, toDay: toDay, nodeID: nil))
    }

    private func querySpend(fromDay: String, toDay: String, nodeID: String?) async throws(CoordinatorError) -> [DailySpend] {
        var sql = """
            SELECT day, model, SUM(calls) AS calls, SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cost_nanos) AS cost
            FROM usage_daily WHERE day >= ? AND day <= ?
            """
        var arguments: StatementArguments = [fromDay, toDay]
        if let nodeID {
            sql += " AND node_id = ?"
            arguments += [nodeID]
        }
        sql += " GROUP BY day, model ORDER BY day, model"
        let (query, values) = (sql, arguments)
        return try await read { db in
            try Row.fetchAll(db, sql: query, arguments: values).map {
                DailySpend(day: $0["day"], model: $0["model"], calls: $0["calls"], inputTokens: $0["input"], outputTokens: $0["output"],
                           costNanos: $0["cost"])
            }
        }
    }
}

/// The fleet's spend over one range of closed days, kept after the first read.
final class ClosedDaySpend: Sendable {
    private let cached = Mutex<(key: String, rows: [DailySpend])?>(nil)

    func rows(for key: String) -> [DailySpend]? {
        cached.withLock { $0?.key == key ? $0?.rows : nil }
    }

    func store(_ rows: [DailySpend], for key: String) {
        cached.withLock { $0 = (key, rows) }
    }
}
