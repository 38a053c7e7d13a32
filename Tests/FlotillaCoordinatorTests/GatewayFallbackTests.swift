import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// A fleet model with several targets (`models.NAME.targets`), in-process against the fake
/// provider: which failures fall over to the next target, what the caller gets, what is metered
/// and charged.
@Suite struct GatewayFallbackTests {
    /// The test bed's providers plus fleet models whose first target fails in one way or another.
    static func gateway(budgets: BudgetSpec? = nil) -> GatewaySpec {
        var spec = GatewayTestbed.defaultGateway
        spec.models = [
            FleetModel(name: "fleet-smart", targets: [ModelTarget(provider: "openai", upstream: "fake-unavailable"),
                                                      ModelTarget(provider: "anthropic", upstream: "claude-3-5-haiku-latest")]),
            FleetModel(name: "fleet-patient", targets: [ModelTarget(provider: "openai", upstream: "fake-hang"),
                                                        ModelTarget(provider: "openai", upstream: "gpt-4o-mini")], firstByteTimeoutMs: 2_000),
            FleetModel(name: "fleet-picky", targets: [ModelTarget(provider: "openai", upstream: "fake-echo-key"),
                                                      ModelTarget(provider: "openai", upstream: "gpt-4o-mini")]),
            FleetModel(name: "fleet-down", targets: [ModelTarget(provider: "openai", upstream: "fake-unavailable"),
                                                     ModelTarget(provider: "openai", upstream: "fake-error")]),
        ]
        spec.budgets = budgets
        return spec
    }

    static func chat(_ model: String, stream: Bool = false) -> String {
        #"{"model":"\#(model)","max_tokens":8,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    }

    @Test(arguments: Backend.available)
    func aTargetAnswering503FallsOverToTheNextWhichIsChargedOnce(_ backend: Backend) async throws {
        let budgets = BudgetSpec(fleet: BudgetLimit(dailyNanos: 1_000_000_000))
        try await GatewayTestbed.with(gateway: Self.gateway(budgets: budgets), backend: backend) { bed in
            let (node, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key, body: Self.chat("fleet-smart"))
            #expect(response.status == .ok)
            // The second target is Anthropic's: the OpenAI caller's call went there translated.
            #expect(bed.provider.received.map(\.path) == ["/v1/chat/completions", "/v1/messages"])
            let answer = try GatewayAPITests.json(response.body)
            #expect(answer["object"] as? String == "chat.completion" && answer["model"] as? String == "fleet-smart")

            let records = try await bed.records()
            try #require(records.count == 2)
            let (failed, served) = (records[0], records[1])
            #expect(failed.requestID == served.requestID, "both attempts are one call")
            #expect(failed.outcome == .fellBack && failed.status == 503 && failed.errorCode == "upstream_http_503")
            #expect(failed.upstreamModel == "fake-unavailable" && failed.costNanos == 0)
            #expect(served.outcome == .ok && served.provider == "anthropic" && served.model == "fleet-smart" && served.costNanos > 0)

            // One charge: the budget's counter holds the answer's cost and nothing in flight.
            let counter = BudgetCounterKey(scope: "fleet", period: "daily", periodKey: UTCCalendar.day(Date()))
            let state = try #require(await bed.services.ledger.counters([counter])[counter])
            #expect(state.spentNanos == served.costNanos && state.reservedNanos == 0)

            let report = try await bed.services.ledger.report(UsageQuery(by: .model, from: Date().addingTimeInterval(-60),
                                                                          to: Date().addingTimeInterval(60), nodeID: node.id))
            let row = try #require(report.rows.first { $0.key == "fleet-smart" })
            #expect(row.calls == 1 && row.fallbacks == 1 && row.failed == 0 && row.costNanos == served.costNanos)
        }
    }

    @Test func aTargetThatHangsPastItsFirstByteTimeoutFallsOver() async throws {
        try await GatewayTestbed.with(gateway: Self.gateway()) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let started = ContinuousClock.now
            let response = try await bed.post("/v1/chat/completions", key: key, body: Self.chat("fleet-patient", stream: true))
            #expect(response.status == .ok)
            // The hanging target sleeps 10 s; the timeout (each attempt's, so generous enough for the
            // second target on a loaded machine) gives it up well before.
            #expect(ContinuousClock.now - started < .seconds(9), "the hanging target was given up after its 2 s")
            #expect(String(buffer: response.body).contains("data: [DONE]"))
            let records = try await bed.records()
            #expect(records.map(\.outcome) == [.fellBack, .ok])
            #expect(records.first?.errorCode == "upstream_timeout" && records.first?.costNanos == 0)
            #expect(records.last?.upstreamModel == "gpt-4o-mini" && records.last?.streamed == true)
        }
    }

    @Test func aRequestTheProviderRefusesIsNotSentElsewhere() async throws {
        try await GatewayTestbed.with(gateway: Self.gateway()) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key, body: Self.chat("fleet-picky"))
            #expect(response.status == .badRequest, "a 400 is the request's fault: it reaches the caller")
            #expect(bed.provider.received.count == 1)
            #expect(try await bed.records().map(\.outcome) == [.upstreamError])
        }
    }

    @Test func whenEveryTargetFailsTheCallerGetsTheLastFailureInItsShape() async throws {
        try await GatewayTestbed.with(gateway: Self.gateway()) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/messages", key: key, body: Self.chat("fleet-down"), anthropic: true)
            #expect(response.status == .internalServerError)
            #expect(try GatewayAPITests.anthropicError(response).1 == "api_error")
            let records = try await bed.records()
            #expect(records.map(\.outcome) == [.fellBack, .upstreamError])
            #expect(records.map(\.upstreamModel) == ["fake-unavailable", "fake-error"])
        }
    }

    @Test func theCatalogRefusesAFleetModelWithAnUnpricedTarget() throws {
        var spec = Self.gateway()
        spec.models?.append(FleetModel(name: "fleet-odd", targets: [ModelTarget(provider: "openai", upstream: "gpt-4o-mini"),
                                                                    ModelTarget(provider: "openai", upstream: "gpt-unknown")]))
        let catalog = GatewayCatalog(version: 1, spec: spec)
        #expect(try catalog.routes(model: "fleet-smart", group: "edge", api: .openai, translatable: true).map(\.provider) == ["openai", "anthropic"])
        #expect(throws: CoordinatorError.self) { try catalog.routes(model: "fleet-odd", group: "edge", api: .openai, translatable: true) }
        #expect(throws: CoordinatorError.self) { try catalog.routes(model: "fleet-smart", group: "edge", api: .openai, translatable: false) }
    }

    @Test func publishRefusesATargetAtAnUndeclaredProvider() {
        var spec = Self.gateway()
        spec.models = [FleetModel(name: "fleet-x", targets: [ModelTarget(provider: "mistral", upstream: "small")])]
        #expect(throws: CoordinatorError.self) { try GatewayValidation.validate(spec) }
        spec.models = [FleetModel(name: "fleet-default", targets: [ModelTarget(provider: "openai", upstream: "gpt-4o-mini")])]
        #expect(throws: CoordinatorError.self) { try GatewayValidation.validate(spec) }
    }
}
