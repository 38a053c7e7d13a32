import FlotillaProtocol
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import ServiceLifecycle
import Testing

@testable import FlotillaCoordinator

/// Budgets with a hard cutoff: concurrent calls never overrun a node, group or fleet budget; a
/// refusal is 429 `budget_exceeded` with `Retry-After`; spend settles to the usage records;
/// periods reset on the calendar.
@Suite struct BudgetTests {
    /// 1 USD per million tokens in and out: a fake call (10 in, 8 out) costs 18,000 nano-USD.
    static let prices = PriceTable(version: 1, models: ["gpt-4o-mini": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000, maxOutputTokens: 64)])

    static func gateway(budgets: BudgetSpec? = nil, limits: LimitSpec? = nil) -> GatewaySpec {
        GatewaySpec(providers: [ProviderSpec(name: "openai", kind: .openai, baseURL: "fake", models: [
            ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini"),
        ])], prices: prices, budgets: budgets, limits: limits)
    }

    static func body(stream: Bool) -> String {
        #"{"model":"fleet-default","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    }

    /// Outcome of one call: 200, or the 429 code and its Retry-After.
    struct Result: Sendable {
        var status: HTTPResponse.Status
        var code: String?
        var retryAfter: String?
    }

    static func fire(_ bed: GatewayTestbed, keys: [String], calls: Int) async throws -> [Result] {
        try await withThrowingTaskGroup(of: Result.self) { group in
            for index in 0..<calls {
                let key = keys[index % keys.count]
                group.addTask {
                    let response = try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: index % 2 == 0))
                    let code = response.status == .ok ? nil : (try? GatewayAPITests.openAIError(response))?.0
                    return Result(status: response.status, code: code, retryAfter: response.headers[.retryAfter])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    static func expectNoOverrun(_ bed: GatewayTestbed, _ results: [Result], limit: Int64, key: BudgetCounterKey) async throws {
        let ok = results.filter { $0.status == .ok }.count
        let refused = results.filter { $0.status == .tooManyRequests }
        #expect(ok + refused.count == results.count, "every call is answered 200 or 429")
        #expect(refused.allSatisfy { $0.code == "budget_exceeded" && Int($0.retryAfter ?? "") ?? 0 >= 1 })
        // At most 50 calls' actual cost fits; a burst reserves each call's worst case (about twice
        // its actual cost here), so fewer pass, and none beyond the limit.
        #expect(ok >= 10 && ok <= 50, "\(ok) calls fitted the budget")
        let state = try #require(await bed.services.ledger.counters([key])[key])
        #expect(state.spentNanos <= limit)
        #expect(state.reservedNanos == 0)
        let recorded = try await bed.records().reduce(0) { $0 + $1.costNanos }
        #expect(state.spentNanos == recorded, "settled spend equals the usage records")
    }

    @Test(arguments: Backend.available)
    func twoHundredConcurrentCallsNeverOverrunANodeBudget(_ backend: Backend) async throws {
        let budgets = BudgetSpec(nodes: ["default": BudgetLimit(dailyNanos: 900_000)])
        try await GatewayTestbed.with(gateway: Self.gateway(budgets: budgets), backend: backend) { bed in
            let (node, key) = try await bed.addNode("board-01")
            let results = try await Self.fire(bed, keys: [key], calls: 200)
            let day = BudgetCalendar(timeZone: "UTC").period(.daily, at: Date()).key
            try await Self.expectNoOverrun(bed, results, limit: 900_000, key: BudgetCounterKey(scope: "node:\(node.id)", period: "daily", periodKey: day))
        }
    }

    @Test(arguments: ["group", "fleet"], Backend.available)
    func twoHundredConcurrentCallsFromThreeNodesNeverOverrunASharedBudget(scope: String, backend: Backend) async throws {
        let limit = BudgetLimit(monthlyNanos: 900_000)
        let budgets = scope == "group" ? BudgetSpec(groups: ["edge": limit]) : BudgetSpec(fleet: limit)
        try await GatewayTestbed.with(gateway: Self.gateway(budgets: budgets), backend: backend) { bed in
            var keys: [String] = []
            for index in 1...3 { keys.append(try await bed.addNode("board-0\(index)").1) }
            let results = try await Self.fire(bed, keys: keys, calls: 200)
            let month = BudgetCalendar(timeZone: "UTC").period(.monthly, at: Date()).key
            try await Self.expectNoOverrun(bed, results, limit: 900_000,
                                           key: BudgetCounterKey(scope: scope == "group" ? "group:edge" : "fleet", period: "monthly", periodKey: month))
        }
    }

    @Test func aDayLaterCallsPassAgainAndTheSoftThresholdIsRaisedOncePerPeriod() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_796_043_600))  // 2026-11-30T13:00:00Z
        // Six calls fit: each costs 18,000 and is held at its worst case of 44,000 while in flight
        // (36 input tokens at most for its message, 8 output), so the seventh (108,000 spent) would
        // overrun 140,000. The second crosses the 25% soft threshold.
        let budgets = BudgetSpec(nodes: ["default": BudgetLimit(dailyNanos: 140_000)], softThresholdPercent: 25, timeZone: "UTC")
        try await GatewayTestbed.with(gateway: Self.gateway(budgets: budgets), configure: { $0.clock = { clock.withLock { $0 } } }) { bed in
            let (_, key) = try await bed.addNode("board-01")
            var passed = 0
            var refusal: TestResponse?
            for _ in 0..<12 {
                let response = try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: false))
                if response.status == .ok { passed += 1 } else { refusal = response }
            }
            #expect(passed == 6)
            let refused = try #require(refusal)
            #expect(refused.status == .tooManyRequests)
            #expect(try GatewayAPITests.openAIError(refused) == ("budget_exceeded", "insufficient_quota"))
            // Eleven hours to midnight UTC.
            #expect(refused.headers[.retryAfter] == "39600")
            #expect(String(buffer: refused.body).contains("node board-01's daily budget"))

            clock.withLock { $0 = $0.addingTimeInterval(86_400) }
            #expect(try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: false)).status == .ok)
            #expect(try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: true)).status == .ok)

            let events = try await bed.services.metering.events.events(since: .distantPast, limit: 100)
            let soft = events.filter { $0.kind == .budgetSoftThreshold }.map(\.message)
            #expect(soft.count == 2, "once on each day: \(soft)")
            #expect(soft.contains { $0.contains("(2026-11-30)") } && soft.contains { $0.contains("(2026-12-01)") })
            #expect(events.filter { $0.kind == .budgetExhausted }.count == 1)

            // Raising the limit takes effect on the next call.
            let raised = BudgetSpec(nodes: ["default": BudgetLimit(dailyNanos: 10_000_000)], softThresholdPercent: 25)
            // First spend the day's budget (two calls made, four more fit), so the call after the
            // raise is one the old limit refuses.
            for _ in 0..<4 { #expect(try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: false)).status == .ok) }
            #expect(try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: false)).status == .tooManyRequests)
            try await bed.services.gatewayConfig.commit(try #require(bed.services.gatewayConfig.plan(Self.gateway(budgets: raised).withBaseURL(bed.providerURL), keysSet: []).1))
            #expect(try await bed.post("/v1/chat/completions", key: key, body: Self.body(stream: false)).status == .ok)
        }
    }

    /// The day the ledger tests' counters belong to, passed to every ledger they open (a ledger
    /// loads only recent periods' counters).
    static let counterDay = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30T00:53:20Z

    @Test func unsettledReservationsAreChargedAtTheirAmountWhenTheLedgerOpensAgain() async throws {
        let fixture = try StoreFixture()
        let key = BudgetCounterKey(scope: "node:n-1", period: "daily", periodKey: UTCCalendar.day(Self.counterDay))
        let check = BudgetCheck(key: key, limitNanos: 1_000_000, resetsAt: Date(), label: "node n-1")
        do {
            let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: .init(label: "test"), now: Self.counterDay)
            try await withLedgerRunning(ledger) {
                let first = try await ledger.reserve(Reservation(requestID: "r-1", at: Date(), nodeID: "n-1", group: "edge", amountNanos: 300_000, checks: [check]))
                #expect(first == .reserved)
                let held = await ledger.counters([key])[key]
                #expect(held == CounterState(spentNanos: 0, reservedNanos: 300_000))
                let big = Reservation(requestID: "r-2", at: Date(), nodeID: "n-1", group: "edge", amountNanos: 800_000, checks: [check])
                let second = try await ledger.reserve(big)
                #expect(second == .refused(check, CounterState(spentNanos: 0, reservedNanos: 300_000)))
            }
        }
        // The process "died" with r-1 open: the next ledger charges it and lists it.
        let reopened = try SQLiteUsageLedger(store: fixture.sqlite, logger: .init(label: "test"), now: Self.counterDay)
        #expect(await reopened.counters([key])[key] == CounterState(spentNanos: 300_000, reservedNanos: 0))
        #expect(try await reopened.unsettledReservations().map(\.requestID) == ["r-1"])
        #expect(try await reopened.unsettledReservations().first?.amountNanos == 300_000)
    }

    @Test func aSettlementWhoseWriteFailsChargesTheReservationOnceAndHoldsNothing() async throws {
        let fixture = try StoreFixture()
        // SQLite itself refuses the record (as a full or failing disk would), failing its batch.
        try fixture.sqlite.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse_r1 BEFORE INSERT ON usage WHEN NEW.request_id = 'r-1' BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
        }
        let key = BudgetCounterKey(scope: "node:n-1", period: "daily", periodKey: UTCCalendar.day(Self.counterDay))
        let check = BudgetCheck(key: key, limitNanos: 1_000_000, resetsAt: Date(), label: "node n-1")
        let reservation = Reservation(requestID: "r-1", at: Date(), nodeID: "n-1", group: "edge", amountNanos: 300_000, checks: [check])
        let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: .init(label: "test"), now: Self.counterDay)
        try await withLedgerRunning(ledger) {
            #expect(try await ledger.reserve(reservation) == .reserved)
            var record = UsageRecord(requestID: "r-1", at: Date(), nodeID: "n-1", group: "edge", provider: "openai", model: "m",
                                     upstreamModel: "m", endpoint: .chatCompletions, streamed: false,
                                     usage: TokenUsage(input: 10, output: 8), costNanos: 18_000, priceVersion: 1, latencyMs: 1,
                                     ttfbMs: 1, status: 200, outcome: .ok, source: .reported, errorCode: nil)
            await #expect(throws: CoordinatorError.self) { try await ledger.record(record, settling: reservation) }
            #expect(await ledger.counters([key])[key] == CounterState(spentNanos: 300_000, reservedNanos: 0),
                    "charged at its amount, as a restart would, and no longer held")
            record.requestID = "r-2"
            try await ledger.record(record, settling: nil)
        }
        #expect(try fixture.sqlite.read { db in try String.fetchAll(db, sql: "SELECT request_id FROM usage") } == ["r-2"])
        let reopened = try SQLiteUsageLedger(store: fixture.sqlite, logger: .init(label: "test"), now: Self.counterDay)
        #expect(await reopened.counters([key])[key] == CounterState(spentNanos: 300_000, reservedNanos: 0), "charged once")
        #expect(try await reopened.unsettledReservations().map(\.requestID) == ["r-1"])
    }
}

extension BudgetTests {
    @Test func refusalsNameTheCounterThatResetsLastAndCountsSaturate() {
        let now = Date()
        let day = BudgetCheck(key: BudgetCounterKey(scope: "node:n", period: "daily", periodKey: "d"), limitNanos: 10,
                              resetsAt: now.addingTimeInterval(3600), label: "node n")
        let month = BudgetCheck(key: BudgetCounterKey(scope: "fleet", period: "monthly", periodKey: "m"), limitNanos: 10,
                                resetsAt: now.addingTimeInterval(86_400 * 20), label: "fleet")
        let book = BudgetBook([day.key: CounterState(spentNanos: 10), month.key: CounterState(spentNanos: 10)])
        let result = book.tryReserve(Reservation(requestID: "r", at: now, nodeID: "n", group: "g", amountNanos: 1, checks: [day, month]))
        #expect(result == .refused(month, CounterState(spentNanos: 10)))
        #expect(book.figures([month.key])[month.key]?.refusedCalls == true)
        #expect(BudgetBook.sum(Int64.max - 1, 5) == Int64.max)
    }

    @Test func estimatesAreNeverChargedAboveTheReservation() {
        let reservation = Reservation(requestID: "r", at: Date(), nodeID: "n", group: "g", amountNanos: 500, checks: [])
        var record = GatewayStateTests.record("n", at: Date(), cost: 9_000)
        record.source = .estimated
        #expect(GatewayMetering.charged(record, reservation).costNanos == 500)
        record.source = .reported
        #expect(GatewayMetering.charged(record, reservation).costNanos == 9_000)
    }

    @Test func aCallThatTimesOutAfterItWasSentIsChargedItsReservation() async throws {
        var gateway = Self.gateway(budgets: BudgetSpec(nodes: ["default": BudgetLimit(dailyNanos: 10_000_000)]))
        gateway.providers[0].models.append(ModelRoute(name: "hangs", upstream: "fake-hang"))
        gateway.prices?.models["fake-hang"] = ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000, maxOutputTokens: 64)
        let timeouts = UpstreamTimeouts(connect: .seconds(2), firstByte: .milliseconds(300), idle: .seconds(5))
        try await GatewayTestbed.with(gateway: gateway, settings: GatewaySettings(timeouts: timeouts)) { bed in
            let (node, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"hangs","max_tokens":8,"messages":[]}"#)
            #expect(response.status == .gatewayTimeout)
            let record = try await #require(try bed.records().last)
            #expect(record.source == .estimated && record.costNanos > 0)
            let dayKey = BudgetCounterKey(scope: "node:\(node.id)", period: "daily", periodKey: BudgetCalendar(timeZone: "UTC").period(.daily, at: Date()).key)
            let state = try #require(await bed.services.ledger.counters([dayKey])[dayKey])
            #expect(state.spentNanos == record.costNanos && state.reservedNanos == 0)
        }
    }
}

extension GatewaySpec {
    /// The spec with every provider pointed at `url`.
    func withBaseURL(_ url: String) -> GatewaySpec {
        var spec = self
        for index in spec.providers.indices { spec.providers[index].baseURL = url }
        return spec
    }
}

/// Runs `body` while `ledger`'s commit loop runs, then stops the loop (it drains what is queued).
func withLedgerRunning(_ ledger: SQLiteUsageLedger, _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: [ledger], logger: .init(label: "test"))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}
