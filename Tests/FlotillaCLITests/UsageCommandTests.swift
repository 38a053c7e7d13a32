import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCLI

@Suite struct UsageCommandTests {
    @Test func tableListsRowsThenTheTotal() {
        let report = UsageReport(
            by: .model, from: "2026-11-29T00:00:00Z", to: "2026-11-30T00:00:00Z",
            rows: [
                UsageRow(key: "fleet-default", calls: 12, refused: 1, failed: 2, fallbacks: 3, inputTokens: 1200, outputTokens: 300, cachedTokens: 100, costUSD: 0.00036),
                UsageRow(key: "claude", calls: 1, refused: 0, failed: 0, inputTokens: 10, outputTokens: 5, cachedTokens: 0, costUSD: 0.000028),
            ],
            total: UsageRow(key: "total", calls: 13, refused: 1, failed: 2, fallbacks: 3, inputTokens: 1210, outputTokens: 305, cachedTokens: 100, costUSD: 0.000388)
        )
        let lines = UsageCommand.table(report).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines[0] == ["Gateway", "usage", "from", "2026-11-29T00:00:00Z", "to", "2026-11-30T00:00:00Z"])
        #expect(lines[1] == ["MODEL", "CALLS", "REFUSED", "FAILED", "FALLBACKS", "INPUT", "OUTPUT", "CACHED", "COST", "USD"])
        #expect(lines[2] == ["fleet-default", "12", "1", "2", "3", "1200", "300", "100", "$0.000360"])
        #expect(lines[3] == ["claude", "1", "0", "0", "0", "10", "5", "0", "$0.000028"])
        #expect(lines[4] == ["total", "13", "1", "2", "3", "1210", "305", "100", "$0.000388"])
    }

    @Test func gatewayPlanPrintsEveryChangeAndWarning() {
        let plan = GatewayPlan(changed: true, providersAdded: ["openai"], modelsAdded: ["fleet-default"], modelsRemoved: ["old"],
                               groupsChanged: ["demo"], currentPriceVersion: 1, priceVersion: 2, warnings: ["provider 'openai' has no key yet"])
        #expect(PlanOutput.lines(plan) == [
            "gateway:", "  + provider openai", "  + model fleet-default", "  - model old", "  ~ models of group demo",
            "  ~ prices v1 -> v2", "  ! provider 'openai' has no key yet",
        ])
        #expect(PlanOutput.lines(GatewayPlan(changed: false, priceVersion: 2)) == ["gateway (prices v2): no changes"])
    }
}
