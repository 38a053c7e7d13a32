import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// The gateway with real processes: `flotilla serve`, the fake provider as its own process, a real
/// enrolled agent, and the official `openai` and `anthropic` Python SDKs as callers.
@Suite struct GatewayEndToEndTests {
    static func usage(_ fleet: TestFleet, by: String) throws -> UsageReport {
        let result = try fleet.cli(["usage", "--by", by, "--since", "1h", "--json"])
        guard result.status == 0 else { throw TestFailure("usage failed: \(result.stderr)") }
        return try JSONDecoder().decode(UsageReport.self, from: Data(result.stdout.utf8))
    }

    @Test func officialSDKsCallThroughTheGatewayAndEveryCallIsMetered() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            let attributes = try FileManager.default.attributesOfItem(atPath: gateway.state + "/gateway.key")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let agent = try fleet.startAgent(stateDirectory: gateway.state, label: "agent",
                                             extraArguments: ["--runtime", "command", "--workspace", fleet.root + "/workspace"])

            let (steps, output) = try gateway.sdk("calls")
            #expect(steps["chat"]?["text"] as? String == "pong pong pong ")
            #expect(steps["chat_stream"]?["text"] as? String == "pong pong pong pong ")
            #expect(steps["chat_stream"]?["usage_seen"] as? Bool == false)
            #expect((steps["chat_stream_usage"]?["usage"] as? [String: Any])?["completion_tokens"] as? Int == 5)
            #expect(steps["embeddings"]?["count"] as? Int == 3)
            #expect((steps["messages"]?["usage"] as? [String: Any])?["output_tokens"] as? Int == 6)
            #expect((steps["messages_stream"]?["usage"] as? [String: Any])?["output_tokens"] as? Int == 7)
            #expect(steps["models"]?["ids"] as? [String] == ["claude", "fleet-default", "fleet-embed", "slow", "unpriced"])
            for (step, status, code) in [("unknown_model", 404, "model_not_found"), ("unpriced_model", 403, "model_not_priced"),
                                         ("untranslatable", 400, "field_not_translatable"), ("anthropic_unknown_model", 404, "model_not_found")] {
                #expect(steps[step]?["status"] as? Int == status, "\(step)")
                #expect(steps[step]?["code"] as? String == code, "\(step)")
            }

            // The provider got every forwarded call with the coordinator's key, unknown fields included.
            let received = try await gateway.providerRequests()
            #expect(received.count == 6)
            #expect(received.allSatisfy { $0["authorized"] as? Bool == true })
            #expect((received.first?["body"] as? String)?.contains(#""x_future_field":{"kept":true}"#) == true)

            // Metered: tokens and cost per model, as `flotilla usage` shows them.
            let byModel = try Self.usage(fleet, by: "model")
            func row(_ key: String) -> UsageRow? { byModel.rows.first { $0.key == key } }
            #expect(row("fleet-default")?.calls == 4)
            #expect(row("fleet-default")?.refused == 1)
            #expect(row("fleet-default")?.inputTokens == 30)
            #expect(row("fleet-default")?.outputTokens == 12)
            // 30 × 0.15 + 12 × 0.60 USD per million tokens.
            #expect(abs((row("fleet-default")?.costUSD ?? 0) - 0.0000117) < 1e-12)
            #expect(row("fleet-embed")?.inputTokens == 30)
            #expect(abs((row("fleet-embed")?.costUSD ?? 0) - 0.0000006) < 1e-12)
            #expect(row("claude")?.calls == 2)
            #expect(row("claude")?.outputTokens == 13)
            #expect(abs((row("claude")?.costUSD ?? 0) - 0.000068) < 1e-12)
            #expect(row("nope")?.refused == 2)
            #expect(row("unpriced")?.refused == 1)
            #expect(abs(byModel.total.costUSD - 0.0000803) < 1e-12)

            let byNode = try Self.usage(fleet, by: "node")
            #expect(byNode.rows.map(\.key) == ["node-1"])
            #expect(byNode.rows.first?.calls == 10)
            let node = try #require(try fleet.node("node-1"))
            #expect(abs(node.costTodayUSD - 0.0000803) < 1e-12)
            #expect(abs(node.costMonthUSD - 0.0000803) < 1e-12)
            #expect(node.gatewayKeyID != nil)
            let show = try fleet.cli(["node", "show", "node-1"])
            #expect(show.stdout.contains("Gateway spend this month (UTC) by model"))
            #expect(show.stdout.contains("claude"))

            // The provider key is in no answer, no log line, no file of the node, not in the database.
            agent.stop()
            let key = GatewaySetup.providerKey
            #expect(!output.contains(key))
            #expect(!output.contains(String(key.suffix(8))))
            #expect(!fleet.coordinatorLogs.contains(key))
            #expect(!agent.stderr.contains(key) && !agent.stdout.contains(key))
            #expect(GatewaySetup.files(under: gateway.state, containing: key).isEmpty)
            #expect(GatewaySetup.files(under: fleet.root + "/logs", containing: key).isEmpty, "no process logged it")
            #expect(GatewaySetup.files(under: fleet.dataDirectory, containing: key).isEmpty)
            let listed = try fleet.cli(["secret", "list", "--json"])
            #expect(!listed.stdout.contains(key))
            #expect(listed.stdout.contains("\"provider\" : \"openai\""))
        }
    }

    @Test func aStreamTheCallerCutsShortIsStillCharged() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            let (steps, _) = try gateway.sdk("cancel")
            #expect(steps["cancel"]?["received"] as? Int == 3)
            var slow: UsageRow?
            _ = try fleet.eventually(timeout: 10) {
                slow = try Self.usage(fleet, by: "model").rows.first { $0.key == "slow" }
                return slow != nil
            }
            let row = try #require(slow)
            #expect(row.calls == 1 && row.failed == 1)
            // At least the three chunks the caller read ("pong " each, ~4 bytes per token), charged.
            #expect(row.outputTokens >= 4)
            #expect(row.costUSD > 0)
        }
    }

    /// A caller that stops waiting for a non-streamed answer: the provider still produces (and
    /// bills) it, so the gateway charges the provider's own usage for it.
    @Test func aCallerThatGivesUpOnAJSONAnswerIsChargedWhatTheProviderReports() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            #expect(try gateway.sdk("give-up").steps["give_up"]?["error"] as? String == "APITimeoutError")
            var slow: UsageRow?
            _ = try fleet.eventually(timeout: 15) {
                slow = try Self.usage(fleet, by: "model").rows.first { $0.key == "slow" }
                return slow != nil
            }
            let row = try #require(slow)
            #expect(row.calls == 1)
            #expect(row.outputTokens == 10)
            #expect(row.inputTokens == 10)
            // 20 tokens at 1 USD per million tokens.
            #expect(abs(row.costUSD - 0.00002) < 1e-12)
        }
    }

    @Test func rotatedBadAndRevokedKeysAreRefusedAndTheNodePicksUpItsNewKey() async throws {
        try await TestFleet.with(heartbeatInterval: "1s") { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            _ = try fleet.startAgent(stateDirectory: gateway.state, label: "agent")
            let keyFile = gateway.state + "/gateway.key"
            let oldKey = try String(contentsOfFile: keyFile, encoding: .utf8)
            #expect(try gateway.sdk("chat").steps["openai"]?["error"] is NSNull)

            // A copy of the old key, to call with after the rotation.
            let stale = fleet.root + "/stale"
            try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: gateway.state + "/ca.pem", toPath: stale + "/ca.pem")
            try oldKey.write(toFile: stale + "/gateway.key", atomically: true, encoding: .utf8)

            #expect(try fleet.cli(["node", "rotate-key", "node-1"]).status == 0)
            for (step, shape) in [("openai", "openai"), ("anthropic", "anthropic")] {
                let refused = try gateway.sdk("chat", state: stale).steps[step]
                #expect(refused?["status"] as? Int == 401, "\(shape)")
                #expect(refused?["code"] as? String == "invalid_api_key", "\(shape)")
            }
            // Within a heartbeat or two the agent has fetched its new key, and it works.
            #expect(try fleet.eventually(timeout: 10) { (try? String(contentsOfFile: keyFile, encoding: .utf8)) != oldKey })
            #expect(try gateway.sdk("chat").steps["openai"]?["error"] is NSNull)
            #expect(try gateway.sdk("chat").steps["anthropic"]?["error"] is NSNull)

            try "flt_gw_not-a-real-key".write(toFile: stale + "/gateway.key", atomically: true, encoding: .utf8)
            #expect(try gateway.sdk("chat", state: stale).steps["openai"]?["code"] as? String == "invalid_api_key")

            // Mutual TLS identifies the node without its key (SDKs send a placeholder).
            #expect(try gateway.sdk("mtls").steps["openai"]?["error"] is NSNull)

            // A revoked node's key (and certificate) is dead at once.
            #expect(try fleet.cli(["node", "revoke", "node-1"]).status == 0)
            let revoked = try gateway.sdk("chat").steps
            #expect(revoked["openai"]?["status"] as? Int == 403)
            #expect(revoked["openai"]?["code"] as? String == "node_revoked")
            #expect(revoked["anthropic"]?["code"] as? String == "node_revoked")
            #expect(try gateway.sdk("mtls").steps["openai"]?["code"] as? String == "node_revoked")
        }
    }

    @Test func secretsAreReadFromStandardInputAndRefusedForUndeclaredProviders() async throws {
        try await TestFleet.with { fleet in
            _ = try GatewaySetup.prepare(fleet)
            let unknown = try fleet.cli(["secret", "set", "nobody"], stdin: "sk-x\n")
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("no provider 'nobody' is declared"))
            let empty = try fleet.cli(["secret", "set", "openai"], stdin: "\n")
            #expect(empty.status != 0)
            #expect(try fleet.cli(["secret", "delete", "claude"]).status == 0)
            let listed = try fleet.cli(["secret", "list"])
            #expect(listed.stdout.contains("openai") && !listed.stdout.contains("claude"))
            #expect(try fleet.cli(["secret", "delete", "claude"]).status != 0)
        }
    }
}
}
