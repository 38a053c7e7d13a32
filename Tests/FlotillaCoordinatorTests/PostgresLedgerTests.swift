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

    /// Reservations from two coordinators, batched on each, against a fleet budget every call
    /// shares and node budgets of their own: exactly what fits is reserved, each reservation is
    /// decided on its own (first the node budgets refuse, in the same batches as calls that
    /// pass; then the fleet's), and the batches never deadlock on the shared counters.
    @Test func batchedReservationsFromTwoCoordinatorsTakeExactlyWhatFits() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await StoreFixture.with(.postgres) { fixture in
            let storage = try #require(fixture.storage)
            let first = try #require(storage.ledger as? PostgresUsageLedger)
            // The second coordinator is alive, so the sweeper leaves its holds alone.
            try await storage.members.announce(id: "coordinator-b", url: "https://b.test", startedAt: Date(), now: Date().addingTimeInterval(60))
            let second = PostgresUsageLedger(database: first.database, coordinatorID: "coordinator-b", logger: first.database.logger)
            let resets = Date().addingTimeInterval(3600)
            let day = UTCCalendar.day(Date())
            let fleet = BudgetCheck(key: Self.key, limitNanos: 30_000_000, resetsAt: resets, label: "fleet")
            func node(_ index: Int, calls: Int64) -> BudgetCheck {
                BudgetCheck(key: BudgetCounterKey(scope: "node:n-\(index)", period: "daily", periodKey: day),
                            limitNanos: calls * 300_000, resetsAt: resets.addingTimeInterval(-60), label: "node")
            }
            // Round 1: n-0 may make 5 calls, n-1…n-3 20 each (65 of the fleet's 100); round 2:
            // n-4…n-7 without limits of their own take the fleet's other 35.
            func round(_ number: Int, limits: [Int: Int64]) async throws -> [(node: Int, result: ReservationResult)] {
                try await withThrowingTaskGroup(of: (Int, ReservationResult).self) { calls in
                    for call in 0..<400 {
                        let index = limits.keys.sorted()[call % limits.count]
                        calls.addTask {
                            let reservation = Reservation(requestID: "r\(number)-\(call)", at: Date(), nodeID: "n-\(index)", group: "edge",
                                                          amountNanos: 300_000, checks: [node(index, calls: limits[index]!), fleet])
                            return (index, try await (call % 2 == 0 ? first : second).reserve(reservation))
                        }
                    }
                    var results: [(node: Int, result: ReservationResult)] = []
                    for try await result in calls { results.append(result) }
                    return results
                }
            }
            let (byNodes, byFleet) = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await second.run() }
                let byNodes = try await round(1, limits: [0: 5, 1: 20, 2: 20, 3: 20])
                let byFleet = try await round(2, limits: [4: 1000, 5: 1000, 6: 1000, 7: 1000])
                group.cancelAll()
                return (byNodes, byFleet)
            }
            for (index, expected) in [(0, 5), (1, 20), (2, 20), (3, 20)] {
                #expect(byNodes.filter { $0.node == index && $0.result == .reserved }.count == expected, "n-\(index)")
            }
            #expect(byNodes.allSatisfy { if case .refused(let check, _) = $0.result { check.key.scope == "node:n-\($0.node)" } else { true } },
                    "round 1 refused by the node counters only")
            #expect(byFleet.filter { $0.result == .reserved }.count == 35, "the fleet's last 35 calls")
            #expect(byFleet.allSatisfy { if case .refused(let check, _) = $0.result { check.key == Self.key } else { true } })
            #expect(try await Self.counter(first.database) == CounterState(spentNanos: 0, reservedNanos: 30_000_000))
            let holds = try await first.database.rows("SELECT count(*) AS n FROM budget_reservations WHERE state = 'open'")
            #expect(try holds.first?.get("n", as: Int64.self) == 100)
        }
    }
}
