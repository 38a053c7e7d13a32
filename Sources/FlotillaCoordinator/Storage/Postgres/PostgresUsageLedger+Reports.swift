import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Usage reports, spend and retention on PostgreSQL: whole UTC days from the roll-up, the
/// partial days at either end from the records, as on SQLite.
extension PostgresUsageLedger {
    static let keptFromKey = "usage_records_kept_from"
    static let pruneBatch = 2000

    func report(_ query: UsageQuery) async throws(CoordinatorError) -> (range: UsageQuery, rows: [UsageAggregate]) {
        let logger = database.logger
        return try await database.transaction { connection -> (range: UsageQuery, rows: [UsageAggregate]) in
            // One snapshot for the boundary and the sums: a pruning pass cannot end in between.
            try await connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", logger)
            let range = query.widened(keptFrom: try await Self.keptFrom(connection, logger))
            let split = UsageRangeSplit(from: range.from, to: range.to)
            var sums: [String: UsageAggregate] = [:]
            for part in split.records {
                try await Self.add(connection, range, table: "usage", column: "at", from: part.from.timeIntervalSince1970,
                                   to: part.to.timeIntervalSince1970, sums: Self.recordSums, into: &sums, logger)
            }
            if let days = split.days {
                try await Self.add(connection, range, table: "usage_daily", column: "day", from: days.first, to: days.afterLast,
                                   sums: Self.daySums, into: &sums, logger)
            }
            return (range, sums.values.sorted { ($0.costNanos, $0.calls, $1.key) > ($1.costNanos, $1.calls, $0.key) })
        }
    }

    private static let recordSums = """
        count(*) FILTER (WHERE outcome <> 'fell_back') AS calls, count(*) FILTER (WHERE outcome = 'refused') AS refused,
        count(*) FILTER (WHERE outcome IN ('upstream_error', 'client_cancelled')) AS failed,
        count(*) FILTER (WHERE outcome = 'fell_back') AS fallbacks,
        sum(input_tokens)::bigint AS input, sum(output_tokens)::bigint AS output, sum(cached_tokens)::bigint AS cached, sum(cost_nanos)::bigint AS cost
        """
    private static let daySums = """
        sum(calls)::bigint AS calls, sum(refused)::bigint AS refused, sum(failed)::bigint AS failed, sum(fallbacks)::bigint AS fallbacks,
        sum(input_tokens)::bigint AS input, sum(output_tokens)::bigint AS output, sum(cached_tokens)::bigint AS cached, sum(cost_nanos)::bigint AS cost
        """

    private static func add(_ connection: PostgresConnection, _ query: UsageQuery, table: String, column: String,
                            from: some PostgresDynamicTypeEncodable, to: some PostgresDynamicTypeEncodable, sums columns: String,
                            into sums: inout [String: UsageAggregate], _ logger: Logger) async throws {
        let key = switch query.by {
        case .node: "node_id"
        case .group: "group_name"
        case .model: "model"
        case .provider: "provider"
        }
        var sql = PostgresSQL("SELECT \(key) AS key, \(columns) FROM \(table) WHERE \(column) >= ")
        sql.bind(from)
        sql.append(" AND \(column) < ")
        sql.bind(to)
        if let node = query.nodeID {
            sql.append(" AND node_id = ")
            sql.bind(node)
        }
        if let group = query.group {
            sql.append(" AND group_name = ")
            sql.bind(group)
        }
        sql.append(" GROUP BY 1")
        for row in try await connection.rows(sql.query, logger) {
            let key: String = try row.get("key")
            var sum = sums[key] ?? UsageAggregate(key: key)
            sum.calls += Int(try row.get("calls", as: Int64.self))
            sum.refused += Int(try row.get("refused", as: Int64.self))
            sum.fallbacks += Int(try row.get("fallbacks", as: Int64.self))
            sum.failed += Int(try row.get("failed", as: Int64.self))
            sum.inputTokens += try row.get("input", as: Int64.self)
            sum.outputTokens += try row.get("output", as: Int64.self)
            sum.cachedTokens += try row.get("cached", as: Int64.self)
            sum.costNanos += try row.get("cost", as: Int64.self)
            sums[key] = sum
        }
    }

    static func keptFrom(_ connection: PostgresConnection, _ logger: Logger) async throws -> Date? {
        let rows = try await connection.rows("SELECT convert_from(value, 'UTF8') AS v FROM settings WHERE key = \(keptFromKey)", logger)
        return try rows.first.flatMap { Double(try $0.get("v", as: String.self)) }.map { Date(timeIntervalSince1970: $0) }
    }

    func pruneRecords(before: Date) async throws(CoordinatorError) -> Int {
        let boundary = UTCCalendar.startOfDay(before).timeIntervalSince1970
        let logger = database.logger
        var total = 0
        var first = true
        while true {
            let removed = try await database.transaction { [first] connection -> Int in
                if first {
                    let kept = try await Self.keptFrom(connection, logger)?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude
                    try await connection.execute("""
                        INSERT INTO settings (key, value) VALUES (\(Self.keptFromKey), convert_to(\(String(max(kept, boundary))), 'UTF8'))
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value
                        """, logger)
                }
                let rows = try await connection.rows("""
                    WITH gone AS (DELETE FROM usage WHERE id IN (SELECT id FROM usage WHERE at < \(boundary) ORDER BY at LIMIT \(Int64(Self.pruneBatch)))
                                  RETURNING 1)
                    SELECT count(*) AS n FROM gone
                    """, logger)
                return Int(try rows.first?.get("n", as: Int64.self) ?? 0)
            }
            first = false
            total += removed
            if removed < Self.pruneBatch { return total }
        }
    }

    func nodeSpend(today: Date, nodeIDs: [String]?) async throws(CoordinatorError) -> [String: NodeSpend] {
        let day = UTCCalendar.day(today)
        let monthStart = UTCCalendar.day(UTCCalendar.startOfMonth(today))
        var sql = PostgresSQL("SELECT node_id, sum(CASE WHEN day = ")
        sql.bind(day)
        sql.append(" THEN cost_nanos ELSE 0 END)::bigint AS today, sum(cost_nanos)::bigint AS month FROM usage_daily WHERE day >= ")
        sql.bind(monthStart)
        sql.append(" AND day <= ")
        sql.bind(day)
        if let nodeIDs {
            guard !nodeIDs.isEmpty else { return [:] }
            sql.append(" AND node_id = ANY(")
            sql.bind(nodeIDs)
            sql.append("::text[])")
        }
        sql.append(" GROUP BY node_id")
        let rows = try await database.rows(sql.query)
        return try PostgresStore.decoded { () throws -> [String: NodeSpend] in
            var result: [String: NodeSpend] = [:]
            for row in rows { result[try row.get("node_id")] = NodeSpend(todayNanos: try row.get("today"), monthNanos: try row.get("month")) }
            return result
        }
    }

    func dailySpend(fromDay: String, toDay: String, nodeID: String?) async throws(CoordinatorError) -> [DailySpend] {
        guard nodeID == nil else { return try await querySpend(fromDay: fromDay, toDay: toDay, nodeID: nodeID) }
        // Days before yesterday are closed (no call lasts a day): read once and kept.
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
        var sql = PostgresSQL("""
            SELECT day, model, sum(calls)::bigint AS calls, sum(input_tokens)::bigint AS input, sum(output_tokens)::bigint AS output,
                   sum(cost_nanos)::bigint AS cost FROM usage_daily WHERE day >= 
            """)
        sql.bind(fromDay)
        sql.append(" AND day <= ")
        sql.bind(toDay)
        if let nodeID {
            sql.append(" AND node_id = ")
            sql.bind(nodeID)
        }
        sql.append(" GROUP BY day, model ORDER BY day, model")
        let rows = try await database.rows(sql.query)
        return try PostgresStore.decoded { () throws -> [DailySpend] in
            try rows.map { row in
                DailySpend(day: try row.get("day"), model: try row.get("model"), calls: Int(try row.get("calls", as: Int64.self)),
                           inputTokens: try row.get("input"), outputTokens: try row.get("output"), costNanos: try row.get("cost"))
            }
        }
    }
}
