import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteUsageLedger {
    /// Budget counters and reservations (migration "v4-budgets").
    static let budgetSchema = """
        -- Spend and in-flight holds per scope (`fleet`, `group:NAME`, `node:ID`) and period.
        CREATE TABLE budget_counters (
            scope TEXT NOT NULL,
            period TEXT NOT NULL,
            period_key TEXT NOT NULL,
            spent_nanos INTEGER NOT NULL,
            reserved_nanos INTEGER NOT NULL,
            PRIMARY KEY (scope, period, period_key)
        ) WITHOUT ROWID;
        -- Calls in flight ('open'), and calls whose coordinator stopped before they settled
        -- ('unsettled': charged at their amount when it started again). Settled ones are deleted.
        CREATE TABLE budget_reservations (
            request_id TEXT PRIMARY KEY NOT NULL,
            at REAL NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            amount_nanos INTEGER NOT NULL,
            counters BLOB NOT NULL,
            state TEXT NOT NULL,
            settled_at REAL
        ) WITHOUT ROWID;
        """

    /// `scope|period|key` lines: the counters a reservation holds (scopes and keys never hold
    /// `|` or a newline).
    static func encode(_ keys: [BudgetCounterKey]) -> Data {
        Data(keys.map { "\($0.scope)|\($0.period)|\($0.periodKey)" }.joined(separator: "\n").utf8)
    }

    static func decode(_ data: Data) -> [BudgetCounterKey] {
        String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false)
            return parts.count == 3 ? BudgetCounterKey(scope: String(parts[0]), period: String(parts[1]), periodKey: String(parts[2])) : nil
        }
    }

    static func insertReservation(_ db: Database, _ reservation: Reservation) throws {
        let keys = encode(reservation.checks.map(\.key))
        let insert = try db.cachedStatement(sql: """
            INSERT INTO budget_reservations (request_id, at, node_id, group_name, amount_nanos, counters, state)
            VALUES (?, ?, ?, ?, ?, ?, 'open')
            """)
        try insert.execute(arguments: [reservation.requestID, reservation.at.timeIntervalSince1970, reservation.nodeID, reservation.group,
                                       reservation.amountNanos, keys])
    }

    /// Adds each delta to its counter, creating counters as needed.
    static func addToCounters(_ db: Database, _ deltas: [BudgetCounterKey: CounterState]) throws {
        guard !deltas.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO budget_counters (scope, period, period_key, spent_nanos, reserved_nanos) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(scope, period, period_key) DO UPDATE SET
                spent_nanos = spent_nanos + excluded.spent_nanos, reserved_nanos = reserved_nanos + excluded.reserved_nanos
            """)
        for (key, delta) in deltas {
            try upsert.execute(arguments: [key.scope, key.period, key.periodKey, delta.spentNanos, delta.reservedNanos])
        }
    }

    /// Charges every open reservation at its amount (its hold becomes spend) and marks it
    /// unsettled; returns how many there were.
    static func chargeOpenReservations(_ db: Database, now: Date) throws -> Int {
        let rows = try Row.fetchAll(db, sql: "SELECT request_id, amount_nanos, counters FROM budget_reservations WHERE state = 'open'")
        var deltas: [BudgetCounterKey: CounterState] = [:]
        for row in rows {
            let amount: Int64 = row["amount_nanos"]
            let keys = decode(row["counters"] as Data)
            for key in keys {
                deltas[key, default: CounterState()].reservedNanos -= amount
                deltas[key, default: CounterState()].spentNanos += amount
            }
        }
        try addToCounters(db, deltas)
        try db.execute(sql: "UPDATE budget_reservations SET state = 'unsettled', settled_at = ? WHERE state = 'open'",
                       arguments: [now.timeIntervalSince1970])
        return rows.count
    }

    /// Counters of recent periods (the last 40 days and 2 months); older periods are history.
    static func loadCounters(_ db: Database, now: Date) throws -> [BudgetCounterKey: CounterState] {
        let since = now.addingTimeInterval(-40 * 86_400)
        let day = UTCCalendar.day(since)
        let rows = try Row.fetchAll(db, sql: """
            SELECT * FROM budget_counters WHERE (period = 'daily' AND period_key >= ?) OR (period = 'monthly' AND period_key >= ?)
            """, arguments: [day, String(day.prefix(7))])
        var counters: [BudgetCounterKey: CounterState] = [:]
        for row in rows {
            counters[BudgetCounterKey(scope: row["scope"], period: row["period"], periodKey: row["period_key"])] =
                CounterState(spentNanos: row["spent_nanos"], reservedNanos: row["reserved_nanos"])
        }
        return counters
    }

    func unsettledReservations() async throws(CoordinatorError) -> [UnsettledReservation] {
        do {
            return try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM budget_reservations WHERE state = 'unsettled' ORDER BY at DESC LIMIT 1000").map {
                    UnsettledReservation(requestID: $0["request_id"], at: Date(timeIntervalSince1970: $0["at"]), nodeID: $0["node_id"],
                                         group: $0["group_name"], amountNanos: $0["amount_nanos"])
                }
            }
        } catch {
            throw .internal("reservations unreadable: \(error)")
        }
    }
}
