import FlotillaProtocol
import Foundation
import NIOHTTP1
import Testing

extension EndToEnd {
/// Two coordinators on one PostgreSQL database, all active, three real agents and the official
/// openai SDK calling through both; then `kill -9` of the coordinator the agents use, mid-load.
@Suite(.serialized) struct MultiCoordinatorEndToEndTests {
    /// 1 USD per million tokens in and out (`slow` is fake-slow), max 8 tokens out: a call costs
    /// 18,000 nano-USD, so the fleet's day affords 50 calls (fewer pass: a call in flight holds
    /// its worst case, about twice that).
    static let budget = "budgets:\n  fleet: {daily: 0.0009}\n"
    static let limitNanos: Int64 = 900_000

    @Test func twoCoordinatorsShareTheFleetAndTheSurvivorCarriesOnAfterAKill() async throws {
        guard SharedDatabase.available else { return }
        let database = try SharedDatabase.create("pair")
        defer { database.drop() }
        try await TestFleet.with(serveArguments: ["--database", database.url]) { fleet in
            let peer = try PeerCoordinator(fleet, database: database, label: "coordinator-b")
            // The operator hands the admin token to the peer's host too.
            try FileManager.default.copyItem(atPath: fleet.dataDirectory + "/admin.token", toPath: peer.dataDirectory + "/admin.token")
            #expect(!FileManager.default.fileExists(atPath: peer.dataDirectory + "/flotilla.sqlite"))

            // The gateway, applied on A; the bundles list both coordinators, A first.
            let gateway = try GatewaySetup.prepare(fleet, extraSpec: Self.budget)
            let conf = try JSONDecoder().decode(NodeConf.self, from: Data(contentsOf: URL(fileURLWithPath: gateway.bundle + "/node.conf")))
            #expect(conf.coordinators == [fleet.serverURL, peer.url], "\(conf.coordinators ?? [])")
            var states = [gateway.state]
            for name in ["node-2", "node-3", "node-4"] {
                let enrolled = try fleet.enroll(bundle: try fleet.provision(group: "demo"), name: name)
                try #require(enrolled.status == 0, "\(enrolled.stderr)")
                states.append(enrolled.stateDirectory)
            }
            var agents: [ChildProcess] = []
            for (index, state) in states.prefix(3).enumerated() {
                let workspace = fleet.root + "/workspace-\(index + 1)"
                try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
                agents.append(try fleet.startAgent(stateDirectory: state, label: "node-\(index + 1)",
                                                   extraArguments: ["--runtime", "command", "--workspace", workspace]))
            }
            // B sees what A enrolled, and the nodes heartbeat (to A, their preferred one).
            try #require(try fleet.eventually { try Self.nodes(peer).filter { $0.status == .online }.count == 3 })

            // A revocation on A is refused on B within a second.
            let revokedKey = try String(contentsOfFile: states[3] + "/gateway.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await Self.chat(fleet, base: peer.url, key: revokedKey) == 200)
            #expect(try fleet.cli(["node", "revoke", "node-4"]).status == 0)
            let revokedAt = Date()
            var refusedAfter: TimeInterval?
            while Date().timeIntervalSince(revokedAt) < 5 {
                let status = try await Self.chat(fleet, base: peer.url, key: revokedKey)
                if status == 401 || status == 403 {
                    refusedAfter = Date().timeIntervalSince(revokedAt)
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let after = try #require(refusedAfter, "node-4 still served by B 5 s after its revocation on A")
            #expect(after < 1, "refused on B \(after) s after the revocation on A")

            // A rollout started on A, in waves 3 s apart.
            try GatewaySetup.writeSpec(fleet, providerURL: gateway.providerURL, extraSpec: Self.budget, groups: """
                rollout: {canary: 1, batch_size: 1, wait: 3s, failure_threshold: 1}
                groups:
                  demo:
                    runtime: command
                    config: {}
                """)
            let apply = try fleet.cli(["apply", fleet.root + "/spec", "--yes", "--detach"])
            try #require(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            let version = try #require(apply.stdout.firstMatch(of: /Published release (\d+)/).map { String($0.1) }, "\(apply.stdout)")

            // 200 calls spread over both coordinators, then A dies under them.
            let load = try ChildProcess(
                try GatewaySetup.python,
                [Binaries.repositoryRoot + "/Tests/Python/failover_load.py", "200", "80", "30", "slow", "8", "\(fleet.serverURL),\(peer.url)",
                 states.prefix(3).joined(separator: ",")],
                logDirectory: fleet.root + "/logs", label: "load")
            // Mid-load: once A has answered a few calls (200 calls start 30 ms apart, 0.8 s each).
            try #require(try fleet.eventually(timeout: 60) { Self.results(load).filter { $0["coordinator"] as? Int == 0 && $0["status"] as? Int == 200 }.count >= 3 || !load.isRunning })
            #expect(load.isRunning, "the load ended before the kill")
            fleet.killCoordinator()
            let killedAt = Date()

            // Every agent is online on B within 15 s: a heartbeat after the kill landed there.
            let failedOver = try fleet.eventually(timeout: 15) {
                try Self.nodes(peer).filter { node in
                    node.name != "node-4" && (node.lastSeen.flatMap(Self.date) ?? .distantPast) > killedAt.addingTimeInterval(0.5)
                }.count == 3
            }
            let seen = (try? Self.nodes(peer).map { "\($0.name) \($0.lastSeen ?? "-")" }) ?? []
            #expect(failedOver, "not every agent heartbeats to B after the kill: \(seen)")
            print("failover: every node online on the survivor \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s after the kill")

            try #require(try fleet.eventually(timeout: 90) { !load.isRunning }, "the load did not finish")
            let results = Self.results(load)
            #expect(results.count == 200, "\(load.stderr)")
            let served = results.filter { $0["status"] as? Int == 200 }
            let ids = served.compactMap { $0["request_id"] as? String }
            #expect(ids.count == served.count)
            #expect(served.count >= 10 && served.count <= 50, "\(served.count) calls fitted the budget")
            #expect(served.contains { $0["coordinator"] as? Int == 0 } && served.contains { $0["coordinator"] as? Int == 1 }, "both coordinators served calls")
            let refused = results.filter { $0["status"] as? Int == 429 }
            #expect(refused.allSatisfy { $0["code"] as? String == "budget_exceeded" })
            // Every call that got a 200 has its usage record.
            let list = ids.map { "'\($0)'" }.joined(separator: ",")
            #expect(try database.value("SELECT count(DISTINCT request_id) FROM usage WHERE request_id IN (\(list))") == "\(ids.count)")
            // The budget was never exceeded, and A's calls that were in flight are charged by B
            // once A counts as gone.
            try #require(try fleet.eventually(timeout: 40) {
                try database.value("SELECT reserved_nanos FROM budget_counters WHERE scope = 'fleet' AND period = 'daily'") == "0"
            }, "reservations of the killed coordinator never settled")
            let spent = try #require(Int64(try database.value("SELECT spent_nanos FROM budget_counters WHERE scope = 'fleet' AND period = 'daily'")))
            #expect(spent <= Self.limitNanos, "spent \(spent) of \(Self.limitNanos)")

            // The rollout started on A completes under B.
            let completed = try fleet.eventually(timeout: 60) {
                let status = try peer.cli(["rollout", "status", version, "--json"])
                return (try? JSONDecoder().decode(RolloutView.self, from: Data(status.stdout.utf8)))?.state == .completed
            }
            let shown = (try? peer.cli(["rollout", "status", version]).stdout) ?? ""
            #expect(completed, "\(shown)")
            #expect(try Self.nodes(peer).filter { $0.name != "node-4" }.allSatisfy { $0.releaseVersion == Int64(version) })

            // One audit chain, appended by both coordinators, verifies.
            let verify = try peer.cli(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            for agent in agents { _ = agent.stop() }
        }
    }

    /// PicoClaw's LLM path has no single coordinator either: the release lists each gateway model
    /// once per coordinator with the copies as PicoClaw model fallbacks, so with the one PicoClaw
    /// calls killed, its next turn is answered by the other (the stand-in follows PicoClaw's
    /// fallback chain, Tests/Python/picoclaw_standin.py).
    @Test func picoClawFallsOverToTheOtherCoordinatorWhenTheOneItCallsIsKilled() async throws {
        guard SharedDatabase.available else { return }
        let database = try SharedDatabase.create("picoclaw")
        defer { database.drop() }
        try await TestFleet.with(heartbeatInterval: PicoClawEndToEndTests.heartbeat, serveArguments: ["--database", database.url]) { fleet in
            let peer = try PeerCoordinator(fleet, database: database, label: "coordinator-b", heartbeatInterval: PicoClawEndToEndTests.heartbeat)
            try FileManager.default.copyItem(atPath: fleet.dataDirectory + "/admin.token", toPath: peer.dataDirectory + "/admin.token")
            let providerURL = try GatewaySetup.startProvider(fleet)
            let spec = try PicoClawEndToEndTests.exampleFleet(fleet, providerURL: providerURL)
            let boards = try PicoClawEndToEndTests.boards(fleet, count: 1)
            defer { boards.forEach { $0.stop() } }
            try #require(try fleet.eventually { try fleet.nodes().first?.status == .online })
            let apply = try fleet.cli(["apply", spec, "--yes"])
            try #require(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(try fleet.cli(["secret", "set", "openai"], stdin: GatewaySetup.providerKey + "\n").status == 0)
            try #require(try fleet.eventually(timeout: 30) { try fleet.nodes().first?.releaseStatus == "applied" })

            // Both coordinators in the order every release lists them (sorted), copies as fallbacks.
            let bases = [fleet.serverURL, peer.url].sorted().map { $0 + "/v1" }
            let config = try boards[0].json()
            let models = (config["model_list"] as? [[String: Any]] ?? []).filter { ($0["model_name"] as? String ?? "").hasPrefix("fleet-default") }
            #expect(models.map { $0["model_name"] as? String } == ["fleet-default", "fleet-default@2"])
            #expect(models.map { $0["api_base"] as? String } == bases)
            let fallbacks = ((config["agents"] as? [String: Any])?["defaults"] as? [String: Any])?["model_fallbacks"] as? [String]
            #expect(fallbacks?.first == "fleet-default@2", "\(fallbacks ?? [])")

            let first = try boards[0].ask("hello", fleet: fleet)
            #expect(first["status"] as? Int == 200 && first["api_base"] as? String == bases[0], "\(first)")

            // Kill the coordinator PicoClaw calls first; its next turn falls over to the other.
            let killedFirst = bases[0] == fleet.serverURL + "/v1"
            print("picoclaw failover: killing coordinator \(killedFirst ? "A" : "B"), the one PicoClaw calls first")
            if killedFirst { fleet.killCoordinator() } else { peer.process.kill9() }
            let after = try boards[0].ask("still there?", fleet: fleet)
            #expect(after["status"] as? Int == 200, "\(after)")
            #expect(after["api_base"] as? String == bases[1] && after["model"] as? String == "fleet-default@2", "\(after)")
            let attempts = after["attempts"] as? [[String: Any]] ?? []
            #expect(attempts.count == 2 && attempts.first?["status"] is NSNull, "the first attempt could not connect: \(attempts)")

            // Both turns metered as the node's, under the fleet model.
            let survivor = killedFirst ? try peer.cli(["usage", "--by", "model", "--since", "1h", "--json"])
                                       : try fleet.cli(["usage", "--by", "model", "--since", "1h", "--json"])
            try #require(survivor.status == 0, "usage on the survivor (killed \(killedFirst ? "A" : "B")): \(survivor.stdout)\(survivor.stderr)")
            let usage = try JSONDecoder().decode(UsageReport.self, from: Data(survivor.stdout.utf8))
            #expect(usage.rows.map(\.key) == ["fleet-default"] && usage.rows.first?.calls == 2, "\(usage.rows)")
        }
    }

    /// The load's finished calls so far, one JSON object each.
    static func results(_ load: ChildProcess) -> [[String: Any]] {
        load.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func nodes(_ peer: PeerCoordinator) throws -> [NodeView] {
        let result = try peer.cli(["nodes", "--json"])
        guard result.status == 0 else { throw TestFailure("nodes on B failed: \(result.stderr)") }
        return try JSONDecoder().decode([NodeView].self, from: Data(result.stdout.utf8))
    }

    /// The status of one small chat call with `key` at `base`.
    static func chat(_ fleet: TestFleet, base: String, key: String) async throws -> Int {
        let body = Data(#"{"model":"fleet-default","max_tokens":2,"messages":[{"role":"user","content":"x"}]}"#.utf8)
        return try await fleet.send(.POST, "/v1/chat/completions", body: body, certificatePEM: nil, keyPEM: nil,
                                    headers: [("Authorization", "Bearer " + key)], base: base).status
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
}
