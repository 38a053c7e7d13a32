import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// `UsageLedger` on PostgreSQL, exact across coordinators. Reservations are decided in batches
/// on counter rows locked for the batch's transaction (PostgresUsageLedger+Reservations), so
/// calls spread over any number of coordinators never together reserve past a limit. Records and their settlements go through a `GroupCommitQueue`: one
/// transaction per batch appends the records, adds to the daily roll-up and settles the batch's
/// reservations, each only if it is still open (a reservation charged for a coordinator thought
/// dead is not charged twice when its call ends after all).
final class PostgresUsageLedger: UsageLedger, Service {
    let database: PostgresPool
    /// The coordinator whose calls reserve through this ledger (its bus origin).
    let coordinatorID: String
    private let queue: GroupCommitQueue<Entry>
    /// Reservations waiting for their batch (PostgresUsageLedger+Reservations).
    let reservations: GroupCommitQueue<PendingReservation>
    private let logger: Logger
    /// Figures of counters as the last settlement that touched them left them.
    private let settled = SettledFigures()
    /// The fleet's spend of closed days, read once.
    let closedDays = ClosedDaySpend()

    /// One queued write.
    struct Entry: Sendable {
        var record: UsageRecord
        var settling: Reservation?
    }

    init(database: PostgresPool, coordinatorID: String, logger: Logger, maxBatch: Int = 4096) {
        self.database = database
        self.coordinatorID = coordinatorID
        self.logger = logger
        let settled = settled
        queue = GroupCommitQueue(name: "flotilla-usage", maxBatch: maxBatch, commit: .async { entries in
            settled.merge(try await Self.apply(database, entries))
        })
        reservations = Self.reservationQueue(database, coordinatorID: coordinatorID)
    }

    func run() async throws {
        await withDiscardingTaskGroup { queues in
            queues.addTask { [queue, logger] in
                await queue.run { count, error in
                    logger.error("usage batch failed", metadata: ["count": "\(count)", "error": "\(error)"])
                }
            }
            queues.addTask { [reservations, logger] in
                await reservations.run { count, error in
                    logger.error("reservation batch failed", metadata: ["count": "\(count)", "error": "\(error)"])
                }
            }
        }
    }

    // MARK: Budgets

    @discardableResult
    func record(_ record: UsageRecord, settling reservation: Reservation?) async throws(CoordinatorError) -> [BudgetCounterKey: CounterState] {
        do {
            try await queue.submit { Entry(record: record, settling: reservation) }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("usage not stored: \(error)")
        }
        let keys = reservation?.checks.map(\.key) ?? []
        return settled.figures(keys)
    }

    func recordEventually(_ record: UsageRecord, settling reservation: Reservation?) {
        if !queue.enqueue(Entry(record: record, settling: reservation)) {
            logger.error("usage record dropped: the coordinator is shutting down", metadata: ["request_id": "\(record.requestID)"])
        }
    }

    func counters(_ keys: [BudgetCounterKey]) async -> [BudgetCounterKey: CounterState] {
        guard !keys.isEmpty else { return [:] }
        let rows: [PostgresRandomAccessRow]
        do {
            rows = try await database.rows("""
                SELECT c.* FROM budget_counters c JOIN unnest(\(keys.map(\.scope))::text[], \(keys.map(\.period))::text[], \(keys.map(\.periodKey))::text[])
                    AS k(s, p, pk) ON c.scope = k.s AND c.period = k.p AND c.period_key = k.pk
                """)
        } catch {
            logger.error("budget counters unreadable", metadata: ["error": "\(error.message)"])
            return [:]
        }
        var figures: [BudgetCounterKey: CounterState] = Dictionary(keys.map { ($0, CounterState()) }, uniquingKeysWith: { a, _ in a })
        for row in rows {
            guard let key = try? BudgetCounterKey(scope: row.get("scope"), period: row.get("period"), periodKey: row.get("period_key")),
                let spent = try? row.get("spent_nanos", as: Int64.self), let reserved = try? row.get("reserved_nanos", as: Int64.self),
                let refused = try? row.get("refused", as: Bool.self)
            else { continue }
            figures[key] = CounterState(spentNanos: spent, reservedNanos: reserved, refusedCalls: refused)
        }
        return figures
    }

    func unsettledReservations() async throws(CoordinatorError) -> [UnsettledReservation] {
        try await PostgresStore.decoded { () async throws -> [UnsettledReservation] in
            try await database.rows("SELECT * FROM budget_reservations WHERE state = 'unsettled' ORDER BY at DESC LIMIT 1000").map { row in
                UnsettledReservation(requestID: try row.get("request_id"), at: Date(timeIntervalSince1970: try row.get("at")),
                                     nodeID: try row.get("node_id"), group: try row.get("group_name"), amountNanos: try row.get("amount_nanos"))
            }
        }
    }

    /// Charges at their amount the open reservations of coordinators not seen since
    /// `aliveSince` (they died mid-call), in one transaction; returns how many.
    @discardableResult
    func chargeAbandonedReservations(aliveSince: Date, now: Date = Date()) async throws(CoordinatorError) -> Int {
        let logger = logger
        return try await database.transaction { connection -> Int in
            let rows = try await connection.rows("""
                UPDATE budget_reservations SET state = 'unsettled', settled_at = \(now.timeIntervalSince1970)
                WHERE state = 'open' AND coordinator_id NOT IN (SELECT id FROM coordinators WHERE seen_at >= \(aliveSince.timeIntervalSince1970))
                  AND coordinator_id <> \(coordinatorID)
                RETURNING amount_nanos, counters
                """, logger)
            var deltas: [BudgetCounterKey: CounterState] = [:]
            for row in rows {
                let amount = try row.get("amount_nanos", as: Int64.self)
                for key in SQLiteUsageLedger.decode(try row.get("counters", as: Data.self)) {
                    deltas[key, default: CounterState()].reservedNanos -= amount
                    deltas[key, default: CounterState()].spentNanos += amount
                }
            }
            _ = try await Self.addToCounters(connection, deltas, logger)
            return rows.count
        }
    }

    /// Adds each delta to its counter, locking the counters in key order first; returns the
    /// counters' figures after the change.
    static func addToCounters(_ connection: PostgresConnection, _ deltas: [BudgetCounterKey: CounterState], _ logger: Logger)
        async throws -> [BudgetCounterKey: CounterState]
    {
        guard !deltas.isEmpty else { return [:] }
        let sorted = deltas.sorted { ($0.key.scope, $0.key.period, $0.key.periodKey) < ($1.key.scope, $1.key.period, $1.key.periodKey) }
        let scopes = sorted.map(\.key.scope), periods = sorted.map(\.key.period), keys = sorted.map(\.key.periodKey)
        try await connection.execute("""
            INSERT INTO budget_counters (scope, period, period_key, spent_nanos, reserved_nanos)
            SELECT s, p, k, 0, 0 FROM unnest(\(scopes)::text[], \(periods)::text[], \(keys)::text[]) AS t(s, p, k) ORDER BY s, p, k
            ON CONFLICT DO NOTHING
            """, logger)
        try await connection.execute("""
            SELECT 1 FROM budget_counters c WHERE (c.scope, c.period, c.period_key) IN
                (SELECT * FROM unnest(\(scopes)::text[], \(periods)::text[], \(keys)::text[]))
            ORDER BY c.scope, c.period, c.period_key FOR UPDATE
            """, logger)
        var figures: [BudgetCounterKey: CounterState] = [:]
        for row in try await connection.rows("""
            UPDATE budget_counters c SET spent_nanos = LEAST(c.spent_nanos::numeric + t.spent, 9223372036854775807)::bigint,
                reserved_nanos = c.reserved_nanos + t.reserved
            FROM unnest(\(scopes)::text[], \(periods)::text[], \(keys)::text[], \(sorted.map(\.value.spentNanos))::bigint[],
                        \(sorted.map(\.value.reservedNanos))::bigint[]) AS t(s, p, k, spent, reserved)
            WHERE c.scope = t.s AND c.period = t.p AND c.period_key = t.k
            RETURNING c.scope, c.period, c.period_key, c.spent_nanos, c.reserved_nanos, c.refused
            """, logger) {
            figures[BudgetCounterKey(scope: try row.get("scope"), period: try row.get("period"), periodKey: try row.get("period_key"))] =
                CounterState(spentNanos: try row.get("spent_nanos"), reservedNanos: try row.get("reserved_nanos"), refusedCalls: try row.get("refused"))
        }
        return figures
    }

    // MARK: Records

    /// A record as the batch document carries it (`jsonb_to_recordset`).
    private struct RecordRow: Encodable {
        var request_id: String
        var at: Double
        var node_id: String
        var group_name: String
        var provider: String
        var model: String
        var upstream_model: String
        var endpoint: String
        var streamed: Bool
        var input_tokens: Int64
        var output_tokens: Int64
        var cached_tokens: Int64
        var cache_write_tokens: Int64
        var cost_nanos: Int64
        var price_version: Int64?
        var latency_ms: Double
        var ttfb_ms: Double?
        var status: Int64
        var outcome: String
        var usage_source: String
        var error_code: String?
    }

    private static let recordColumns = """
        request_id text, at float8, node_id text, group_name text, provider text, model text, upstream_model text, endpoint text,
        streamed bool, input_tokens int8, output_tokens int8, cached_tokens int8, cache_write_tokens int8, cost_nanos int8,
        price_version int8, latency_ms float8, ttfb_ms float8, status int8, outcome text, usage_source text, error_code text
        """

    /// One batch in one transaction; returns the figures of the counters it settled.
    static func apply(_ database: PostgresPool, _ entries: [Entry]) async throws -> [BudgetCounterKey: CounterState] {
        var rows: [RecordRow] = []
        var daily: [[String]: [Int64]] = [:]
        for entry in entries {
            let r = entry.record
            rows.append(RecordRow(
                request_id: r.requestID, at: r.at.timeIntervalSince1970, node_id: r.nodeID, group_name: r.group, provider: r.provider,
                model: r.model, upstream_model: r.upstreamModel, endpoint: r.endpoint.rawValue, streamed: r.streamed,
                input_tokens: r.usage.input, output_tokens: r.usage.output, cached_tokens: r.usage.cached, cache_write_tokens: r.usage.cacheWrite,
                cost_nanos: r.costNanos, price_version: r.priceVersion, latency_ms: r.latencyMs, ttfb_ms: r.ttfbMs, status: Int64(r.status),
                outcome: r.outcome.rawValue, usage_source: r.source.rawValue, error_code: r.errorCode))
            let key = [UTCCalendar.day(r.at), r.nodeID, r.group, r.provider, r.model]
            let add: [Int64] = [r.outcome == .fellBack ? 0 : 1, r.outcome == .refused ? 1 : 0,
                                r.outcome == .upstreamError || r.outcome == .clientCancelled ? 1 : 0,
                                r.usage.input, r.usage.output, r.usage.cached, r.costNanos, r.outcome == .fellBack ? 1 : 0]
            daily[key] = zip(daily[key] ?? Array(repeating: 0, count: 8), add).map { $0 + $1 }
        }
        // In key order, as every writer of the roll-up takes its rows.
        let days = daily.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        let keys = (0..<5).map { index in days.map { $0.key[index] } }
        let sums = (0..<8).map { index in days.map { $0.value[index] } }
        let document = ByteBuffer(bytes: try JSONEncoder().encode(rows))
        let settling = entries.compactMap { entry in entry.settling.map { (entry.record, $0) } }
        let logger = database.logger
        // (The body stays in small functions: Swift 6.3's release build crashed splitting one
        // large coroutine here.)
        return try await database.transaction { connection -> [BudgetCounterKey: CounterState] in
            try await connection.execute("""
                INSERT INTO usage (request_id, at, node_id, group_name, provider, model, upstream_model, endpoint, streamed,
                    input_tokens, output_tokens, cached_tokens, cache_write_tokens, cost_nanos, price_version, latency_ms,
                    ttfb_ms, status, outcome, usage_source, error_code)
                SELECT * FROM jsonb_to_recordset(convert_from(\(document), 'UTF8')::jsonb) AS x(\(unescaped: recordColumns))
                """, logger)
            let deltas = try await settledDeltas(connection, settling, logger)
            let figures = try await addToCounters(connection, deltas, logger)
            try await addDaily(connection, keys: keys, sums: sums, logger)
            return figures
        }
    }

    /// What settling `settling` changes on each counter: only reservations still open (one the
    /// sweeper charged meanwhile is not charged twice).
    private static func settledDeltas(_ connection: PostgresConnection, _ settling: [(UsageRecord, Reservation)],
                                      _ logger: Logger) async throws -> [BudgetCounterKey: CounterState] {
        guard !settling.isEmpty else { return [:] }
        let returned = try await connection.rows("""
            DELETE FROM budget_reservations WHERE request_id = ANY(\(settling.map(\.1.requestID))::text[]) AND state = 'open'
            RETURNING request_id
            """, logger)
        let open = Set(try returned.map { try $0.get("request_id", as: String.self) })
        var deltas: [BudgetCounterKey: CounterState] = [:]
        for (record, reservation) in settling where open.contains(reservation.requestID) {
            for check in reservation.checks {
                deltas[check.key, default: CounterState()].reservedNanos -= reservation.amountNanos
                deltas[check.key, default: CounterState()].spentNanos += record.costNanos
            }
        }
        return deltas
    }

    /// Adds a batch's calls to the per-day roll-up (`keys`: day, node, group, provider, model;
    /// `sums`: calls, refused, failed, input, output, cached tokens, cost, fallbacks).
    private static func addDaily(_ connection: PostgresConnection, keys: [[String]], sums: [[Int64]], _ logger: Logger) async throws {
        guard let first = keys.first, !first.isEmpty else { return }
        try await connection.execute("""
            INSERT INTO usage_daily (day, node_id, group_name, provider, model, calls, refused, failed, input_tokens, output_tokens,
                cached_tokens, cost_nanos, fallbacks)
            SELECT * FROM unnest(\(keys[0])::text[], \(keys[1])::text[], \(keys[2])::text[], \(keys[3])::text[], \(keys[4])::text[],
                \(sums[0])::bigint[], \(sums[1])::bigint[], \(sums[2])::bigint[], \(sums[3])::bigint[], \(sums[4])::bigint[], \(sums[5])::bigint[],
                \(sums[6])::bigint[], \(sums[7])::bigint[])
            ORDER BY 1, 2, 3, 4, 5
            ON CONFLICT (day, node_id, group_name, provider, model) DO UPDATE SET
                calls = usage_daily.calls + excluded.calls, refused = usage_daily.refused + excluded.refused,
                failed = usage_daily.failed + excluded.failed, fallbacks = usage_daily.fallbacks + excluded.fallbacks, input_tokens = usage_daily.input_tokens + excluded.input_tokens,
                output_tokens = usage_daily.output_tokens + excluded.output_tokens,
                cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens, cost_nanos = usage_daily.cost_nanos + excluded.cost_nanos
            """, logger)
    }

    func count(requestIDs: [String]) async throws(CoordinatorError) -> Int {
        let rows = try await database.rows("SELECT count(*) AS n FROM usage WHERE request_id = ANY(\(requestIDs)::text[])")
        return try PostgresStore.decoded { () throws -> Int in Int(try rows.first?.get("n", as: Int64.self) ?? 0) }
    }
}

/// The figures settlements left counters at, for the soft-threshold checks after each call.
final class SettledFigures: Sendable {
    private let figures = Mutex<[BudgetCounterKey: CounterState]>([:])

    func merge(_ new: [BudgetCounterKey: CounterState]) {
        figures.withLock { $0.merge(new) { _, latest in latest } }
    }

    func figures(_ keys: [BudgetCounterKey]) -> [BudgetCounterKey: CounterState] {
        figures.withLock { figures in Dictionary(keys.compactMap { key in figures[key].map { (key, $0) } }, uniquingKeysWith: { a, _ in a }) }
    }
}
