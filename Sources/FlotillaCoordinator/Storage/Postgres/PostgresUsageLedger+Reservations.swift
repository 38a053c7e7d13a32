import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Reservations in batches: every reservation a coordinator has waiting is decided in one
/// transaction that first creates and locks every counter the batch names, in key order (so two
/// coordinators' batches never wait on each other in a cycle), then applies the reservation
/// rule (`BudgetBook.reserve`) to each in arrival order on the locked figures, and writes the
/// holds and the open reservations before it commits. Exact across coordinators, as a row lock
/// per counter is; but the fleet counter every call shares is locked and committed once per
/// batch instead of once per call.
extension PostgresUsageLedger {
    /// One reservation waiting for its batch, and where the batch writes its decision.
    struct PendingReservation: Sendable {
        var reservation: Reservation
        var decision: Decision
    }

    /// A reservation's decision, written once its batch committed, before its caller resumes.
    final class Decision: Sendable {
        let value = Mutex(ReservationResult.reserved)
    }

    /// Reservations per batch at most.
    static let reservationBatch = 512

    static func reservationQueue(_ database: PostgresPool, coordinatorID: String) -> GroupCommitQueue<PendingReservation> {
        GroupCommitQueue(name: "flotilla-reservations", maxBatch: reservationBatch, commit: .async { pending in
            let decisions = try await decide(pending.map(\.reservation), database, coordinatorID: coordinatorID)
            for (entry, decision) in zip(pending, decisions) { entry.decision.value.withLock { $0 = decision } }
        })
    }

    func reserve(_ reservation: Reservation) async throws(CoordinatorError) -> ReservationResult {
        guard !reservation.checks.isEmpty else { return .reserved }
        let decision = Decision()
        do {
            try await reservations.submit { PendingReservation(reservation: reservation, decision: decision) }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("budget not reserved: \(error)")
        }
        return decision.value.withLock { $0 }
    }

    /// Decides `batch` in one transaction; returns each reservation's decision, in order.
    static func decide(_ batch: [Reservation], _ database: PostgresPool, coordinatorID: String) async throws -> [ReservationResult] {
        let logger = database.logger
        return try await database.transaction { connection -> [ReservationResult] in
            var counters = try await lockCounters(Set(batch.flatMap { $0.checks.map(\.key) }), connection, logger)
            var decisions: [ReservationResult] = []
            var changes: [BudgetCounterKey: (held: Int64, refusing: Bool)] = [:]
            var held: [Reservation] = []
            for reservation in batch {
                let decision = BudgetBook.reserve(reservation, in: &counters)
                decisions.append(decision)
                switch decision {
                case .reserved:
                    held.append(reservation)
                    for check in reservation.checks { changes[check.key, default: (0, false)].held += reservation.amountNanos }
                case .refused(let check, _):
                    changes[check.key, default: (0, false)].refusing = true
                }
            }
            try await write(changes, held, coordinatorID: coordinatorID, connection, logger)
            return decisions
        }
    }

    /// One statement: the holds and refusals on the counters (one update per counter: a row
    /// may not be updated twice in a statement) and the open reservations.
    private static func write(_ changes: [BudgetCounterKey: (held: Int64, refusing: Bool)], _ held: [Reservation], coordinatorID: String,
                              _ connection: PostgresConnection, _ logger: Logger) async throws {
        let keys = Array(changes.keys)
        try await connection.execute("""
            WITH counters AS (
                UPDATE budget_counters c SET reserved_nanos = c.reserved_nanos + t.h, refused = c.refused OR t.r
                FROM unnest(\(keys.map(\.scope))::text[], \(keys.map(\.period))::text[], \(keys.map(\.periodKey))::text[],
                            \(keys.map { changes[$0]!.held })::bigint[], \(keys.map { changes[$0]!.refusing })::boolean[]) AS t(s, p, k, h, r)
                WHERE c.scope = t.s AND c.period = t.p AND c.period_key = t.k
                RETURNING 1
            )
            INSERT INTO budget_reservations (request_id, at, node_id, group_name, amount_nanos, counters, state, coordinator_id)
            SELECT r, a, n, g, m, c, 'open', \(coordinatorID)
            FROM unnest(\(held.map(\.requestID))::text[], \(held.map { $0.at.timeIntervalSince1970 })::float8[],
                        \(held.map(\.nodeID))::text[], \(held.map(\.group))::text[], \(held.map(\.amountNanos))::bigint[],
                        \(held.map { ByteBuffer(bytes: SQLiteUsageLedger.encode($0.checks.map(\.key))) })::bytea[])
                 AS t(r, a, n, g, m, c)
            """, logger)
    }

    /// Creates the counters of `keys` that do not exist yet, then locks all of them, each phase
    /// in key order (locking first and creating the missing ones after could wait in a cycle
    /// with a batch creating the same ones), and returns their figures.
    private static func lockCounters(_ keys: Set<BudgetCounterKey>, _ connection: PostgresConnection, _ logger: Logger)
        async throws -> [BudgetCounterKey: CounterState]
    {
        let sorted = keys.sorted { ($0.scope, $0.period, $0.periodKey) < ($1.scope, $1.period, $1.periodKey) }
        let scopes = sorted.map(\.scope), periods = sorted.map(\.period), periodKeys = sorted.map(\.periodKey)
        try await connection.execute("""
            INSERT INTO budget_counters (scope, period, period_key, spent_nanos, reserved_nanos)
            SELECT s, p, k, 0, 0 FROM unnest(\(scopes)::text[], \(periods)::text[], \(periodKeys)::text[]) AS t(s, p, k) ORDER BY s, p, k
            ON CONFLICT DO NOTHING
            """, logger)
        var figures: [BudgetCounterKey: CounterState] = [:]
        for row in try await connection.rows("""
            SELECT c.scope, c.period, c.period_key, c.spent_nanos, c.reserved_nanos FROM budget_counters c
            WHERE (c.scope, c.period, c.period_key) IN (SELECT * FROM unnest(\(scopes)::text[], \(periods)::text[], \(periodKeys)::text[]))
            ORDER BY c.scope, c.period, c.period_key FOR UPDATE
            """, logger) {
            figures[BudgetCounterKey(scope: try row.get("scope"), period: try row.get("period"), periodKey: try row.get("period_key"))] =
                CounterState(spentNanos: try row.get("spent_nanos"), reservedNanos: try row.get("reserved_nanos"))
        }
        guard figures.count == keys.count else { throw CoordinatorError.internal("budget counters vanished while they were locked") }
        return figures
    }
}
