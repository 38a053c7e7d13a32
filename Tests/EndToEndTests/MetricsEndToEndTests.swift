import Foundation
import FlotillaProtocol
import GRDB
import Testing

extension EndToEnd {
/// `/metrics` against a real coordinator with an enrolled agent and gateway traffic from the
/// official SDKs, parsed by the Prometheus Python client's text parser: the counters match what
/// the test did, and only the metrics token (or the admin token) opens it.
@Suite struct MetricsEndToEndTests {
    struct Scrape {
        var status: Int
        var samples: [(name: String, labels: [String: String], value: Double)]
        var families: [String: String]

        /// The sum of `name`'s samples whose labels include `matching`.
        func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
            samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }
                .reduce(0) { $0 + $1.value }
        }
    }

    static func scrape(_ fleet: TestFleet, token: String, url: String? = nil) throws -> Scrape {
        let ca = fleet.root + "/metrics-ca.pem"
        try fleet.caPEM.write(toFile: ca, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(try GatewaySetup.python, [Binaries.repositoryRoot + "/Tests/Python/metrics_scrape.py",
                                                                  url ?? fleet.serverURL + "/metrics", ca, token],
                                          logDirectory: fleet.root + "/logs", timeout: 60)
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("scrape failed: \(result.stdout) \(result.stderr)")
        }
        let samples = (object["samples"] as? [[String: Any]] ?? []).map {
            (name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:], value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan)
        }
        return Scrape(status: object["status"] as? Int ?? 0, samples: samples, families: object["families"] as? [String: String] ?? [:])
    }

    @Test func countersMatchWhatTheTestDidAndOnlyTheMetricsTokenOpensIt() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet, extraSpec: """
                budgets:
                  fleet: {daily: 100}
                  groups: {demo: {monthly: 50}}
                  nodes:
                    default: {daily: 5}
                limits:
                  nodes:
                    default: {requests_per_minute: 3}
                """)
            _ = try fleet.startAgent(stateDirectory: gateway.state, label: "node-1")
            #expect(try fleet.eventually { try fleet.node("node-1")?.status == .online })
            // Two rounds of one OpenAI and one Anthropic call: three fit the node's 3 per minute.
            let first = try gateway.sdk("chat").steps
            let second = try gateway.sdk("chat").steps
            #expect(first["openai"]?["error"] is NSNull && first["anthropic"]?["error"] is NSNull)
            #expect(second["openai"]?["error"] is NSNull)
            #expect(second["anthropic"]?["code"] as? String == "rate_limited")

            let token = try String(contentsOfFile: fleet.dataDirectory + "/metrics.token", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let mode = try FileManager.default.attributesOfItem(atPath: fleet.dataDirectory + "/metrics.token")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let scrape = try Self.scrape(fleet, token: token)
            #expect(scrape.status == 200)
            #expect(scrape.families["flotilla_gateway_calls"] == "counter")
            #expect(scrape.families["flotilla_http_request_duration_seconds"] == "histogram")
            #expect(scrape.sum("flotilla_gateway_calls_total", ["outcome": "ok"]) == 3)
            #expect(scrape.sum("flotilla_gateway_calls_total", ["outcome": "rate_limited"]) == 1)
            #expect(scrape.sum("flotilla_gateway_calls_total", ["group": "demo", "model": "fleet-default", "outcome": "ok"]) == 2)
            #expect(scrape.sum("flotilla_gateway_calls_total", ["model": "claude", "outcome": "ok"]) == 1)
            #expect(scrape.sum("flotilla_gateway_refusals_total", ["reason": "rate_limited"]) == 1)
            #expect(scrape.sum("flotilla_gateway_tokens_total", ["kind": "input"]) > 0)
            #expect(scrape.sum("flotilla_gateway_tokens_total", ["kind": "output"]) > 0)
            #expect(scrape.sum("flotilla_enrollments_total", ["outcome": "accepted"]) == 1)
            #expect(scrape.sum("flotilla_nodes", ["group": "demo", "status": "online"]) == 1)
            #expect(scrape.sum("flotilla_nodes") == 1)

            // Spend agrees with the ledger the CLI reads; budget limits are the spec's.
            let usage = try fleet.cli(["usage", "--json"])
            let report = try JSONDecoder().decode(UsageReport.self, from: Data(usage.stdout.utf8))
            let cost = scrape.sum("flotilla_gateway_cost_usd_total")
            #expect(cost > 0 && abs(cost - report.total.costUSD) < 1e-9)
            #expect(abs(scrape.sum("flotilla_budget_spend_usd", ["scope": "fleet", "period": "daily"]) - report.total.costUSD) < 1e-9)
            #expect(scrape.sum("flotilla_budget_limit_usd", ["scope": "fleet", "period": "daily"]) == 100)
            #expect(scrape.sum("flotilla_budget_limit_usd", ["scope": "group demo", "period": "monthly"]) == 50)
            // No per-node series unless asked for (serve --metrics-per-node).
            #expect(!scrape.samples.contains { $0.labels["scope"]?.hasPrefix("node") == true || $0.labels["node"] != nil })

            // Heartbeats counted are durable ones: never more than the time series holds.
            let database = try DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite")
            let stored = try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats") ?? 0 }
            try database.close()
            let heartbeats = scrape.sum("flotilla_heartbeats_received_total")
            #expect(heartbeats >= 1 && heartbeats <= Double(stored))
            #expect(scrape.sum("flotilla_http_request_duration_seconds_count", ["route": "gateway"]) >= 4)
            // The histogram is recorded as the answer leaves: one heartbeat may be between the two.
            #expect(abs(scrape.sum("flotilla_http_request_duration_seconds_count", ["route": "heartbeat", "status": "2xx"]) - heartbeats) <= 1)

            // The admin token also reads it; a gateway key, a wrong token or none do not.
            #expect(try Self.scrape(fleet, token: try HardeningTests.adminToken(fleet)).status == 200)
            let key = try String(contentsOfFile: gateway.state + "/gateway.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.scrape(fleet, token: key).status == 401)
            #expect(try Self.scrape(fleet, token: "flt_metrics_wrong").status == 401)
        }
    }

    @Test func theSeparateListenerServesMetricsWithoutATokenAndNothingElse() async throws {
        try await TestFleet.with(serveArguments: ["--metrics-listen", "127.0.0.1:0"]) { fleet in
            let urlFile = fleet.dataDirectory + "/metrics.url"
            #expect(try fleet.eventually { FileManager.default.fileExists(atPath: urlFile) })
            let url = try String(contentsOfFile: urlFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/metrics"))
            _ = try fleet.provision(group: "edge")
            let scrape = try Self.scrape(fleet, token: "none", url: url)
            #expect(scrape.status == 200)
            #expect(scrape.families["flotilla_rollouts"] == "gauge")
            // The admin request counted on the TLS listener shows here too: one registry.
            #expect(scrape.sum("flotilla_http_request_duration_seconds_count", ["route": "admin"]) >= 1)
            let other = try Self.scrape(fleet, token: "none", url: url.replacingOccurrences(of: "/metrics", with: "/admin/v1/nodes"))
            #expect(other.status == 404)
        }
    }
}
}
