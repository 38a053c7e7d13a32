import FlotillaProtocol
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// `UsageLedger` in the coordinator's SQLite file. Records and reservations go through one
/// `GroupCommitQueue` (so a reservation is always on disk before its settlement): a call waits
/// for the transaction holding its entry, and under load many calls share one fsync. Each commit
/// appends to `usage`, adds to the day's roll-up in `usage_daily`, and applies the batch's
/// reservations and settlements to `budget_counters` (one write per counter per batch). The
/// counters' authority in memory is a `BudgetBook`.
final class SQLiteUsageLedger: UsageLedger, Service {
    /// One queued write.
    enum Entry: Sendable {
        case reserve(Reservation)
        case usage(UsageRecord, settling: Reservation?)
    }

    let store: SQLiteStore
    private let queue: GroupCommitQueue<Entry>
    private let book: BudgetBook
    private let logger: Logger
    /// Fleet-wide spend of days that can no longer change, for the dashboard's month totals.
    let closedDays = ClosedDaySpend()

    /// Opens the ledger: reservations left open by a coordinator that stopped mid-call are charged
    /// at their amount and kept as unsettled, then the current counters are loaded.
    init(store: SQLiteStore, logger: Logger, maxBatch: Int = 4096, now: Date = Date()) throws(CoordinatorError) {
        self.store = store
        self.logger = logger
        let unsettled = try store.write { db in try Self.chargeOpenReservations(db, now: now) }
        if unsettled > 0 {
            logger.warning("charged unsettled budget reservations at their reserved amount", metadata: ["count": "\(unsettled)"])
        }
        let book = BudgetBook(try store.read { db in try Self.loadCounters(db, now: now) })
        self.book = book
        queue = GroupCommitQueue(name: "flotilla-usage", maxBatch: maxBatch) { entries in
            do {
                try store.pool.write { db in try Self.apply(db, entries) }
            } catch {
                // The batch's settlements are lost with it, so their reservations stay open on disk
                // and the next start charges them at their amount. The book does the same now, so a
                // failed write never holds budget until a restart nor charges twice after one.
                for case .usage(_, let reservation?) in entries { book.settle(reservation, costNanos: reservation.amountNanos) }
                throw error
            }
            for case .usage(let record, let reservation?) in entries { book.settle(reservation, costNanos: record.costNanos) }
        }
    }

    func run() async throws {
        await queue.run { [logger] count, error in
            logger.error("usage batch failed", metadata: ["count": "\(count)", "error": "\(error)"])
        }
    }

    func reserve(_ reservation: Reservation) async throws(CoordinatorError) -> ReservationResult {
        let result = book.tryReserve(reservation)
        guard result == .reserved else { return result }
        do {
            try await submit(.reserve(reservation))
        } catch {
            book.settle(reservation, costNanos: 0)
            throw error
        }
        return .reserved
    }

    @discardableResult
    func record(_ record: UsageRecord, settling reservation: Reservation?) async throws(CoordinatorError) -> [BudgetCounterKey: CounterState] {
        try await submit(.usage(record, settling: reservation))
        return book.figures(reservation?.checks.map(\.key) ?? [])
    }

    func counters(_ keys: [BudgetCounterKey]) async -> [BudgetCounterKey: CounterState] {
        book.figures(keys)
    }

    private func submit(_ entry: Entry) async throws(CoordinatorError) {
        do {
            try await queue.submit { entry }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("usage not stored: \(error)")
        }
    }

    /// One transaction's worth of entries.
    static func apply(_ db: Database, _ entries: [Entry]) throws {
        var records: [UsageRecord] = []
        var deltas: [BudgetCounterKey: CounterState] = [:]
        for entry in entries {
            switch entry {
            case .reserve(let reservation):
                try insertReservation(db, reservation)
                for check in reservation.checks { deltas[check.key, default: CounterState()].reservedNanos += reservation.amountNanos }
            case .usage(let record, let reservation):
                records.append(record)
                guard let reservation else { continue }
                try db.cachedStatement(sql: "DELETE FROM budget_reservations WHERE request_id = ?").execute(arguments: [reservation.requestID])
                for check in reservation.checks {
                    deltas[check.key, default: CounterState()].reservedNanos -= reservation.amountNanos
                    deltas[check.key, default: CounterState()].spentNanos += record.costNanos
                }
            }
        }
        try insert(db, records)
        try addToCounters(db, deltas)
    }

    /// Reads on GRDB's reader threads rather than blocking Swift's shared pool: a report over a
    /// long range must not stall gateway calls.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(CoordinatorError) -> T {
        do {
            return try await store.pool.read(body)
        } catch {
            throw .internal("usage read failed: \(error)")
        }
    }

    func recordEventually(_ record: UsageRecord, settling reservation: Reservation?) {
        if !queue.enqueue(.usage(record, settling: reservation)) {
            logger.error("usage record dropped: the coordinator is shutting down", metadata: ["request_id": "\(record.requestID)"])
        }
    }

    static func insert(_ db: Database, _ records: [UsageRecord]) throws {
        let append = try db.cachedStatement(sql: """
            INSERT INTO usage (request_id, at, node_id, group_name, provider, model, upstream_model, endpoint, streamed,
                input_tokens, output_tokens, cached_tokens, cache_write_tokens, cost_nanos, price_version, latency_ms,
                ttfb_ms, status, outcome, usage_source, error_code)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let rollup = try db.cachedStatement(sql: """
            INSERT INTO usage_daily (day, node_id, group_name, provider, model, calls, refused, failed, fallbacks, input_tokens,
                output_tokens, cached_tokens, cost_nanos)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(day, node_id, group_name, provider, model) DO UPDATE SET
                calls = calls + excluded.calls, refused = refused + excluded.refused, failed = failed + excluded.failed,
                fallbacks = fallbacks + excluded.fallbacks,
                input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
                cached_tokens = cached_tokens + excluded.cached_tokens, cost_nanos = cost_nanos + excluded.cost_nanos
            """)
        for r in records {
            var row = SQLiteBinder(append)
            row.bind(r.requestID)
            row.bind(r.at.timeIntervalSince1970)
            row.bind(r.nodeID)
            row.bind(r.group)
            row.bind(r.provider)
            row.bind(r.model)
            row.bind(r.upstreamModel)
            row.bind(r.endpoint.rawValue)
            row.bind(Int64(r.streamed ? 1 : 0))
            for value in [r.usage.input, r.usage.output, r.usage.cached, r.usage.cacheWrite, r.costNanos] { row.bind(value) }
            row.bind(r.priceVersion)
            row.bind(r.latencyMs)
            row.bind(r.ttfbMs)
            row.bind(Int64(r.status))
            row.bind(r.outcome.rawValue)
            row.bind(r.source.rawValue)
            row.bind(r.errorCode)
            try row.execute(in: db)

            var day = SQLiteBinder(rollup)
            day.bind(UTCCalendar.day(r.at))
            day.bind(r.nodeID)
            day.bind(r.group)
            day.bind(r.provider)
            day.bind(r.model)
            day.bind(Int64(r.outcome == .fellBack ? 0 : 1))
            day.bind(Int64(r.outcome == .refused ? 1 : 0))
            day.bind(Int64(r.outcome == .upstreamError || r.outcome == .clientCancelled ? 1 : 0))
            day.bind(Int64(r.outcome == .fellBack ? 1 : 0))
            for value in [r.usage.input, r.usage.output, r.usage.cached, r.costNanos] { day.bind(value) }
            try day.execute(in: db)
        }
    }

    func count(requestIDs: [String]) async throws(CoordinatorError) -> Int {
        try await read { db in
            var total = 0
            for chunk in stride(from: 0, to: requestIDs.count, by: 500).map({ Array(requestIDs[$0..<min($0 + 500, requestIDs.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                total += try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage WHERE request_id IN (\(marks))",
                                          arguments: StatementArguments(chunk)) ?? 0
            }
            return total
        }
    }
}

extension UsageRecord {
    /// A record as `SQLiteUsageLedger.insert` stored it.
    init(row: Row) {
        requestID = row["request_id"]
        at = Date(timeIntervalSince1970: row["at"])
        nodeID = row["node_id"]
        group = row["group_name"]
        provider = row["provider"]
        model = row["model"]
        upstreamModel = row["upstream_model"]
        endpoint = GatewayEndpoint(rawValue: row["endpoint"]) ?? .chatCompletions
        streamed = (row["streamed"] as Int64) != 0
        usage = TokenUsage(input: row["input_tokens"], output: row["output_tokens"], cached: row["cached_tokens"],
                           cacheWrite: row["cache_write_tokens"])
        costNanos = row["cost_nanos"]
        priceVersion = row["price_version"]
        latencyMs = row["latency_ms"]
        ttfbMs = row["ttfb_ms"]
        status = row["status"]
        outcome = UsageOutcome(rawValue: row["outcome"]) ?? .upstreamError
        source = UsageSource(rawValue: row["usage_source"]) ?? .estimated
        errorCode = row["error_code"]
    }
}
