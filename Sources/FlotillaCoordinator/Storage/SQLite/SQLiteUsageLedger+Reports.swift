import FlotillaProtocol
import Foundation
import GRDB

/// Usage reports. Whole UTC days are summed from the `usage_daily` roll-up (written in the same
/// transaction as each record), so a month's report reads a few rows per node and model instead
/// of every call; only the partial days at either end of the range are summed from the records.
extension SQLiteUsageLedger {
    /// The boundary and the sums are read in one transaction, so a pruning pass that ends in
    /// between cannot leave a range reading records that are gone.
    func report(_ query: UsageQuery) async throws(CoordinatorError) -> (range: UsageQuery, rows: [UsageAggregate]) {
        try await read { db in
            let range = query.widened(keptFrom: try Self.keptFrom(db))
            return (range, try Self.sums(db, range))
        }
    }

    /// The sums of `query`'s range, most expensive first, then most calls, then by key.
    static func sums(_ db: Database, _ query: UsageQuery) throws -> [UsageAggregate] {
        let split = UsageRangeSplit(from: query.from, to: query.to)
        var sums: [String: UsageAggregate] = [:]
        for range in split.records {
            try add(db, query, table: "usage", range: ("at", range.from.timeIntervalSince1970.databaseValue, range.to.timeIntervalSince1970.databaseValue),
                    sums: recordSums, into: &sums)
        }
        if let days = split.days {
            try add(db, query, table: "usage_daily", range: ("day", days.first.databaseValue, days.afterLast.databaseValue), sums: daySums, into: &sums)
        }
        return sums.values.sorted { ($0.costNanos, $0.calls, $1.key) > ($1.costNanos, $1.calls, $0.key) }
    }

    /// Sums of the records themselves, and of the roll-up's rows (same meaning, see `insert`).
    private static let recordSums = """
        SUM(outcome <> 'fell_back') AS calls, SUM(outcome = 'refused') AS refused,
        SUM(outcome IN ('upstream_error', 'client_cancelled')) AS failed, SUM(outcome = 'fell_back') AS fallbacks,
        SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cached_tokens) AS cached, SUM(cost_nanos) AS cost
        """
    private static let daySums = """
        SUM(calls) AS calls, SUM(refused) AS refused, SUM(failed) AS failed, SUM(fallbacks) AS fallbacks,
        SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cached_tokens) AS cached, SUM(cost_nanos) AS cost
        """

    /// Adds the sums of `table`'s rows with `range.column` in `[range.from, range.to)` to `sums`.
    private static func add(_ db: Database, _ query: UsageQuery, table: String, range: (column: String, from: DatabaseValue, to: DatabaseValue),
                            sums columns: String, into sums: inout [String: UsageAggregate]) throws {
        let key = switch query.by {
        case .node: "node_id"
        case .group: "group_name"
        case .model: "model"
        case .provider: "provider"
        }
        var sql = "SELECT \(key) AS key, \(columns) FROM \(table) WHERE \(range.column) >= ? AND \(range.column) < ?"
        var arguments: StatementArguments = [range.from, range.to]
        if let node = query.nodeID {
            sql += " AND node_id = ?"
            arguments += [node]
        }
        if let group = query.group {
            sql += " AND group_name = ?"
            arguments += [group]
        }
        for row in try Row.fetchAll(db, sql: sql + " GROUP BY key", arguments: arguments) {
            let key: String = row["key"]
            var sum = sums[key] ?? UsageAggregate(key: key)
            sum.calls += row["calls"] as Int
            sum.refused += row["refused"] as Int
            sum.failed += row["failed"] as Int
            sum.fallbacks += row["fallbacks"] as Int
            sum.inputTokens += row["input"] as Int64
            sum.outputTokens += row["output"] as Int64
            sum.cachedTokens += row["cached"] as Int64
            sum.costNanos += row["cost"] as Int64
            sums[key] = sum
        }
    }
}
