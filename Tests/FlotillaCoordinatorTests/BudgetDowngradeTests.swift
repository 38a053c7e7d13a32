import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// A budget's `downgrade:` in-process against the fake provider: past its share the node's
/// calls go to the cheaper model, with the header, event and metric; at the limit they are
/// refused `budget_exceeded`; the spend never passes the limit.
@Suite struct BudgetDowngradeTests {
    /// One token of `fake-dear` costs 1,000 nanos, of `fake-cheap` 100.
    static func gateway(_ budgets: BudgetSpec) -> GatewaySpec {
        GatewaySpec(providers: [ProviderSpec(name: "openai", kind: .openai, baseURL: "fake", models: [
            ModelRoute(name: "fleet-default", upstream: "fake-dear"),
            ModelRoute(name: "fleet-cheap", upstream: "fake-cheap"),
        ])], prices: PriceTable(version: 1, models: [
            "fake-dear": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000, maxOutputTokens: 64),
            "fake-cheap": ModelPrice(inputMicros: 100_000, outputMicros: 100_000, maxOutputTokens: 64),
        ]), budgets: budgets)
    }

    static let limit: Int64 = 200_000

    @Test(arguments: Backend.available)
    func pastEightyPercentOfTheNodeBudgetCallsGoToTheCheapModelUntilTheLimitRefusesThem(_ backend: Backend) async throws {
        let budgets = BudgetSpec(nodes: ["default": BudgetLimit(dailyNanos: Self.limit, downgrade: BudgetDowngrade(atPercent: 80, to: "fleet-cheap"))])
        try await GatewayTestbed.with(gateway: Self.gateway(budgets), backend: backend) { bed in
            let (node, key) = try await bed.addNode("board-01")
            let body = #"{"model":"fleet-default","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#
            var spentBefore: [Int64] = []
            var responses: [TestResponse] = []
            var spent: Int64 = 0
            for _ in 0..<400 {
                spentBefore.append(spent)
                let response = try await bed.post("/v1/chat/completions", key: key, body: body)
                responses.append(response)
                if response.status != .ok { break }
                spent = try await bed.records().reduce(0) { $0 + $1.costNanos }
            }
            let refused = try #require(responses.last)
            #expect(refused.status == .tooManyRequests)
            #expect(try GatewayAPITests.openAIError(refused).0 == "budget_exceeded")

            let answered = responses.dropLast()
            let records = try await bed.records().filter { $0.outcome == .ok }
            try #require(records.count == answered.count)
            for (index, response) in answered.enumerated() {
                let past = Double(spentBefore[index]) >= Double(Self.limit) * 0.8
                let header = response.headers[GatewayHeaders.downgrade]
                #expect((header != nil) == past, "call \(index) after \(spentBefore[index]) nanos")
                #expect(records[index].model == (past ? "fleet-cheap" : "fleet-default"))
                if past { #expect(header?.hasPrefix("fleet-default -> fleet-cheap (node board-01 at ") == true) }
            }
            #expect(records.contains { $0.model == "fleet-default" } && records.contains { $0.model == "fleet-cheap" })
            #expect(spent <= Self.limit, "nothing overshoots")
            let counter = BudgetCounterKey(scope: "node:\(node.id)", period: "daily", periodKey: UTCCalendar.day(Date()))
            let state = try #require(await bed.services.ledger.counters([counter])[counter])
            #expect(state.spentNanos == spent && state.reservedNanos == 0)

            let events = try await bed.services.metering.events.events(since: .distantPast, limit: 100).filter { $0.kind == .budgetDowngrade }
            #expect(events.count == 1 && events.first?.scope == "node board-01")
            #expect(events.first?.message.contains("its calls to fleet-default go to fleet-cheap") == true)
            let metrics = String(decoding: bed.services.metering.metrics.render(), as: UTF8.self)
            let downgraded = answered.filter { $0.headers[GatewayHeaders.downgrade] != nil }.count
            #expect(metrics.contains(#"flotilla_gateway_downgrades_total{group="edge",from="fleet-default",to="fleet-cheap"} \#(downgraded)"#))
        }
    }

    /// The fleet is past its share, so calls move, except for a group that may not use the
    /// cheaper model: its calls stay on theirs (plan refuses such a spec; this is a group's
    /// allowlist changed since, or a spec written past plan).
    @Test func aDowngradeToAModelTheGroupMayNotUseLeavesTheCallAlone() async throws {
        var spec = Self.gateway(BudgetSpec(fleet: BudgetLimit(dailyNanos: 100_000, downgrade: BudgetDowngrade(atPercent: 1, to: "fleet-cheap"))))
        spec.groupModels = ["edge": ["fleet-default"]]
        try await GatewayTestbed.with(gateway: spec) { bed in
            let (_, edgeKey) = try await bed.addNode("board-01", group: "edge")
            let (_, otherKey) = try await bed.addNode("board-02", group: "other")
            let body = #"{"model":"fleet-default","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#
            let first = try await bed.post("/v1/chat/completions", key: edgeKey, body: body)
            #expect(first.status == .ok && first.headers[GatewayHeaders.downgrade] == nil)
            let spent = try await bed.records().reduce(0) { $0 + $1.costNanos }
            try #require(spent >= 1_000, "the first call puts the fleet past 1% of its budget")

            let edge = try await bed.post("/v1/chat/completions", key: edgeKey, body: body)
            #expect(edge.status == .ok && edge.headers[GatewayHeaders.downgrade] == nil)
            let other = try await bed.post("/v1/chat/completions", key: otherKey, body: body)
            #expect(other.status == .ok && other.headers[GatewayHeaders.downgrade]?.hasPrefix("fleet-default -> fleet-cheap (fleet at ") == true)
            let models = try await bed.records().filter { $0.outcome == .ok }.map(\.model)
            #expect(models == ["fleet-default", "fleet-default", "fleet-cheap"])
        }
    }

    @Test func publishRefusesACycleOfDowngradesAndAnUnknownModel() throws {
        var spec = Self.gateway(BudgetSpec(
            fleet: BudgetLimit(dailyNanos: 1_000, downgrade: BudgetDowngrade(atPercent: 80, to: "fleet-default", models: ["fleet-cheap"])),
            nodes: ["default": BudgetLimit(dailyNanos: 1_000, downgrade: BudgetDowngrade(atPercent: 50, to: "fleet-cheap", models: ["fleet-default"]))]))
        spec.providers[0].baseURL = "https://api.openai.com/v1"
        spec.budgets?.fleet?.downgrade?.models = nil
        try GatewayValidation.validate(spec)
        spec.budgets?.fleet?.downgrade?.models = ["fleet-cheap"]
        #expect(spec.budgets?.downgradeCycle(models: ["fleet-cheap", "fleet-default"]) == ["fleet-cheap", "fleet-default", "fleet-cheap"])
        #expect(throws: CoordinatorError.self) { try GatewayValidation.validate(spec) }
        spec.budgets = BudgetSpec(fleet: BudgetLimit(dailyNanos: 1_000, downgrade: BudgetDowngrade(atPercent: 80, to: "nope")))
        #expect(throws: CoordinatorError.self) { try GatewayValidation.validate(spec) }
        // Two scopes with their own cheap models and no `models:` form no cycle.
        spec.models = nil
        spec.providers[0].models.append(ModelRoute(name: "fleet-cheaper", upstream: "fake-cheap"))
        spec.budgets = BudgetSpec(fleet: BudgetLimit(dailyNanos: 1_000, downgrade: BudgetDowngrade(atPercent: 80, to: "fleet-cheap")),
                                  nodes: ["default": BudgetLimit(dailyNanos: 1_000, downgrade: BudgetDowngrade(atPercent: 80, to: "fleet-cheaper"))])
        #expect(throws: Never.self) { try GatewayValidation.validate(spec) }
    }
}
