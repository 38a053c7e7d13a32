import FlotillaProtocol
import Foundation
import PostgresNIO
import Testing

@testable import FlotillaCoordinator

/// The PostgreSQL ledger's settlement where several coordinators meet: a hold is charged once,
/// whichever coordinator charges it.
@Suite struct PostgresLedgerTests {
    static let key = BudgetCounterKey(scope: "fleet", period: "daily", periodKey: UTCCalendar.day(Date()))
    static let check = BudgetCheck(key: key, limitNanos: 1_000_000, resetsAt: Date().addingTimeInterval(3600), label: "fleet")

    static func record(_ id: String) -> UsageRecord {
        UsageRecord(requestID: id, at: Date(), nodeID: "n-1", group: "edge", provider: "openai", model: "m", upstreamModel: "m",
                    endpoint: .chatCompletions, streamed: false, usage: TokenUsage(input: 10, output: 8), costNanos: 18_000,
                    priceVersion: 1, latencyMs: 1, ttfbMs: 1, status: 200, outcome: .ok, source: .reported, errorCode: nil)
    }

    static func counter(_ database: PostgresPool) async throws -> CounterState {
        let row = try #require(try await database.rows("SELECT spent_nanos, reserved_nanos FROM budget_counters WHERE scope = 'fleet'").first)
        return CounterState(spentNanos: try row.get("spent_nanos"), reservedNanos: try row.get("reserved_nanos"))
    }

    @Test func aHoldTheSweeperChargedIsNotChargedAgainWhenItsCallEnds() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await StoreFixture.with(.postgres) { fixture in
            let ledger = try #require(fixture.storage?.ledger as? PostgresUsageLedger)
            let database = ledger.database
            func reservation(_ id: String) -> Reservation {
                Reservation(requestID: id, at: Date(), nodeID: "n-1", group: "edge", amountNanos: 300_000, checks: [Self.check])
            }
            // Held by a coordinator the sweeper took for dead: charged at its amount, once.
            #expect(try await ledger.reserve(reservation("late")) == .reserved)
            try await database.execute("UPDATE budget_reservations SET coordinator_id = 'gone' WHERE request_id = 'late'")
            #expect(try await ledger.chargeAbandonedReservations(aliveSince: Date()) == 1)
            #expect(try await Self.counter(database) == CounterState(spentNanos: 300_000, reservedNanos: 0))
            try await ledger.record(Self.record("late"), settling: reservation("late"))
            #expect(try await Self.counter(database) == CounterState(spentNanos: 300_000, reservedNanos: 0))

            // An ordinary call: its hold released, its cost charged.
            #expect(try await ledger.reserve(reservation("plain")) == .reserved)
            #expect(try await Self.counter(database) == CounterState(spentNanos: 300_000, reservedNanos: 300_000))
            try await ledger.record(Self.record("plain"), settling: reservation("plain"))
            #expect(try await Self.counter(database) == CounterState(spentNanos: 318_000, reservedNanos: 0))
        }
    }
}
