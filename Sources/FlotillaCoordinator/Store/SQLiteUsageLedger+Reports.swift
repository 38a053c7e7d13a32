import FlotillaProtocol
import Foundation
import GRDB

/// Usage reports. Whole UTC days are summed from the `usage_daily` roll-up (written in the same
/// transaction as each record), so a month's report reads a few rows per node and model instead
/// of every call; only the partial days at either end of the range are summed from the records.
extension SQLiteUsageLedger {
    func aggregate(_ query: UsageQuery) async throws(CoordinatorError) -> [UsageAggregate] {
        let split = UsageRangeSplit(from: query.from, to: query.to)
        return try await read { db in
            var sums: [String: UsageAggregate] = [:]
            for range in split.records {
                try Self.add(db, query, table: "usage", range: ("at", range.from.timeIntervalSince1970.databaseValue, range.to.timeIntervalSince1970.databaseValue),
                             sums: Self.recordSums, into: &sums)
            }
            if let days = split.days {
                try Self.add(db, query, table: "usage_daily", range: ("day", days.first.databaseValue, days.afterLast.databaseValue), sums: Self.daySums, into: &sums)
            }
            // Most expensive first, then most calls, then by key.
            return sums.values.sorted { ($0.costNanos, $0.calls, $1.key) > ($1.costNanos, $1.calls, $0.key) }
        }
    }

    /// Sums of the records themselves, and of the roll-up's rows (same meaning, see `insert`).
    private static let recordSums = """
        COUNT(*) AS calls, SUM(outcome = 'refused') AS refused, SUM(outcome IN ('upstream_error', 'client_cancelled')) AS failed,
        SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cached_tokens) AS cached, SUM(cost_nanos) AS cost
        """
    private static let daySums = """
        SUM(calls) AS calls, SUM(refused) AS refused, SUM(failed) AS failed,
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
            sum.inputTokens += row["input"] as Int64
            sum.outputTokens += row["output"] as Int64
            sum.cachedTokens += row["cached"] as Int64
            sum.costNanos += row["cost"] as Int64
            sums[key] = sum
        }
    }
}

/// `[from, to)` cut at UTC midnights: the whole days between them (`day >= first AND day <
/// afterLast`, as `YYYY-MM-DD`), and the partial days at either end as time ranges.
struct UsageRangeSplit: Equatable {
    var records: [Range] = []
    var days: (first: String, afterLast: String)?

    struct Range: Equatable {
        var from: Date
        var to: Date
    }

    init(from: Date, to: Date) {
        guard from < to else { return }
        let startOfFrom = UTCCalendar.startOfDay(from)
        let firstMidnight = startOfFrom == from ? from : startOfFrom.addingTimeInterval(86_400)
        let lastMidnight = UTCCalendar.startOfDay(to)
        guard firstMidnight < lastMidnight else {
            records = [Range(from: from, to: to)]
            return
        }
        if from < firstMidnight { records.append(Range(from: from, to: firstMidnight)) }
        days = (UTCCalendar.day(firstMidnight), UTCCalendar.day(lastMidnight))
        if lastMidnight < to { records.append(Range(from: lastMidnight, to: to)) }
    }

    static func == (a: UsageRangeSplit, b: UsageRangeSplit) -> Bool {
        a.records == b.records && a.days?.first == b.days?.first && a.days?.afterLast == b.days?.afterLast
    }
}

/// Retention of the per-call records (`serve --usage-retention`). Whole UTC days go at once, so
/// the roll-up, which is kept, answers for every pruned day exactly; the boundary is stored in
/// the transaction that deletes the last batch before it.
extension SQLiteUsageLedger {
    static let keptFromKey = "usage_records_kept_from"

    func pruneRecords(before: Date) async throws(CoordinatorError) -> Int {
        let boundary = UTCCalendar.startOfDay(before).timeIntervalSince1970
        var total = 0
        while true {
            // Small batches: each holds the database's writer, which the usage records wait for.
            let removed: Int
            do {
                removed = try await store.pool.write { db in
                    try db.execute(sql: "DELETE FROM usage WHERE id IN (SELECT id FROM usage WHERE at < ? ORDER BY at LIMIT 2000)",
                                   arguments: [boundary])
                    let count = db.changesCount
                    if count < 2000 {
                        // The boundary only moves forward (a shorter retention set later keeps it).
                        try db.execute(sql: """
                            INSERT INTO settings(key, value) VALUES (?, ?)
                            ON CONFLICT(key) DO UPDATE SET value = MAX(CAST(value AS REAL), excluded.value)
                            """, arguments: [Self.keptFromKey, boundary])
                    }
                    return count
                }
            } catch {
                throw .internal("usage records not pruned: \(error)")
            }
            total += removed
            if removed < 2000 { return total }
        }
    }

    func recordsKeptFrom() async throws(CoordinatorError) -> Date? {
        try await read { db in
            try Double.fetchOne(db, sql: "SELECT CAST(value AS REAL) FROM settings WHERE key = ?", arguments: [Self.keptFromKey])
                .map { Date(timeIntervalSince1970: $0) }
        }
    }
}
