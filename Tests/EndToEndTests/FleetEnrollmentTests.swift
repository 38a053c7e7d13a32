import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// A coordinator and three real agents on loopback: enroll, heartbeat, show online, revoke.
@Suite(.serialized) struct FleetEnrollmentTests {
    @Test func threeAgentsEnrollAndShowOnlineWithRealReadings() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(extra: ["--uses", "3"])
            let conf = try JSONDecoder().decode(NodeConf.self, from: Data(contentsOf: URL(fileURLWithPath: bundle + "/node.conf")))
            #expect(conf.coordinatorURL == fleet.serverURL)
            #expect(conf.caPEM == fleet.caPEM)
            #expect(conf.group == "demo")
            for file in ["install.sh", "flotilla-node.service"] {
                #expect(FileManager.default.fileExists(atPath: bundle + "/" + file))
            }
            #expect(try permissions(bundle) == 0o700)
            #expect(try permissions(bundle + "/node.conf") == 0o600)

            var states: [String] = []
            for i in 1...3 {
                let enrolled = try fleet.enroll(bundle: bundle, name: "agent-\(i)")
                #expect(enrolled.status == 0, "\(enrolled.stderr)")
                #expect(try permissions(enrolled.stateDirectory) == 0o700)
                #expect(try permissions(enrolled.stateDirectory + "/key.pem") == 0o600)
                states.append(enrolled.stateDirectory)
                _ = try fleet.startAgent(stateDirectory: enrolled.stateDirectory, label: "agent-\(i)")
            }
            let allOnline = try fleet.eventually {
                let nodes = try fleet.nodes()
                return nodes.count == 3 && nodes.allSatisfy { $0.status == .online }
            }
            #expect(allOnline)
            let nodes = try fleet.nodes()
            #expect(Set(nodes.map(\.name)) == ["agent-1", "agent-2", "agent-3"])
            var uname = utsname()
            uname_(&uname)
            for node in nodes {
                #expect(node.group == "demo")
                #expect(node.arch == machine(uname))
                #expect(node.agentVersion == "0.1.0")
                #expect((node.memTotalBytes ?? 0) > 0)
                #expect((node.memAvailableBytes ?? 0) > 0)
                #expect((node.diskFreeBytes ?? 0) > 0)
                #expect(node.cpuPercent != nil)
                #expect((node.uptimeSeconds ?? 0) > 0)
                #expect(node.kernel?.isEmpty == false)
                #expect(node.lastSeen.flatMap(parseDate) != nil)
                // No release declares a local model, so the agents report none.
                #expect(node.localModel == nil)
            }

            // The table view carries the documented columns.
            let table = try fleet.cli(["nodes"])
            #expect(table.stdout.hasPrefix("NAME"))
            for column in ["GROUP", "STATUS", "LAST SEEN", "ARCH", "VERSION", "CPU%", "MEM", "DISK FREE", "TEMP", "LOCAL"] {
                #expect(table.stdout.contains(column))
            }
            let shown = try fleet.cli(["node", "show", "agent-1"])
            #expect(shown.status == 0)
            #expect(shown.stdout.contains("agent-1"))

            // Revoking agent-2 refuses its next heartbeat; the agent keeps running (backing off).
            let revoked = try fleet.cli(["node", "revoke", "agent-2"])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            #expect(try fleet.node("agent-2")?.status == .revoked)
            let reply = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: states[1])
            #expect(reply.status == 403)
            #expect(reply.errorCode == "node_revoked")
            #expect(try fleet.node("agent-1")?.status == .online)

            // SIGTERM ends an agent's loop promptly and cleanly.
            let agent = try fleet.startAgent(stateDirectory: states[0], label: "agent-1-again")
            try await Task.sleep(for: .milliseconds(500))
            let started = Date()
            #expect(agent.stop(timeout: 5) == 0)
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(agent.stderr.contains("agent stopped"))
        }
    }

    /// The Embedded Swift build (what boards run) against a real coordinator. `scripts/test.sh`
    /// builds it and passes its path in FLOTILLA_EMBEDDED_AGENT.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FLOTILLA_EMBEDDED_AGENT"] != nil))
    func embeddedAgentEnrollsAndHeartbeats() async throws {
        let binary = try #require(ProcessInfo.processInfo.environment["FLOTILLA_EMBEDDED_AGENT"])
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "embedded", binary: binary)
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            let once = try ChildProcess.run(binary, ["run", "--state-dir", enrolled.stateDirectory, "--once"], logDirectory: fleet.root + "/logs")
            #expect(once.status == 0, "\(once.stderr)")
            let node = try #require(try fleet.node("embedded"))
            #expect(node.status == .online)
            #expect((node.memTotalBytes ?? 0) > 0)
            #expect(node.agentVersion == "0.1.0")
        }
    }

    @Test func pendingNodeIsRefusedUntilApproved() async throws {
        // A 5 s interval keeps the node `online` for 10 s after its heartbeat, however slowly the
        // CLI runs on a busy machine.
        try await TestFleet.with(heartbeatInterval: "5s") { fleet in
            let bundle = try fleet.provision(extra: ["--require-approval"])
            let enrolled = try fleet.enroll(bundle: bundle, name: "waiting")
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            #expect(try fleet.node("waiting")?.status == .pending)

            let refused = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: enrolled.stateDirectory)
            #expect(refused.status == 403)
            #expect(refused.errorCode == "node_pending")
            #expect(try fleet.node("waiting")?.lastSeen == nil)

            #expect(try fleet.cli(["node", "approve", "waiting"]).status == 0)
            let accepted = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: enrolled.stateDirectory)
            #expect(accepted.status == 200)
            let response = try JSONDecoder().decode(HeartbeatResponse.self, from: accepted.body)
            #expect(response.heartbeatIntervalSeconds == 5)
            #expect(try fleet.node("waiting")?.status == .online)
        }
    }

    @Test func localModelHealthFromHeartbeatsReachesTheFleetView() async throws {
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "llama-board")
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            var body = try #require(try JSONSerialization.jsonObject(with: sampleHeartbeat) as? [String: Any])
            body["local_model"] = "down"
            let down = try await fleet.post("/v1/heartbeat", body: try JSONSerialization.data(withJSONObject: body), asNodeIn: enrolled.stateDirectory)
            #expect(down.status == 200)
            #expect(try fleet.node("llama-board")?.localModel == "down")
            let table = try fleet.cli(["nodes"]).stdout.split(separator: "\n").map(String.init)
            let header = try #require(table.first)
            let column = header.distance(from: header.startIndex, to: try #require(header.range(of: "LOCAL")).lowerBound)
            #expect(table.dropFirst().first.map { String($0.dropFirst(column).prefix(4)) } == "down", "\(table)")
            #expect(try fleet.cli(["node", "show", "llama-board"]).stdout.contains("Local model"))

            // Without the field the board no longer has a local model.
            #expect(try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: enrolled.stateDirectory).status == 200)
            #expect(try fleet.node("llama-board")?.localModel == nil)
            #expect(!(try fleet.cli(["node", "show", "llama-board"]).stdout.contains("Local model")))
        }
    }

    @Test func tokensAreListedAndRevocable() async throws {
        try await TestFleet.with { fleet in
            _ = try fleet.provision(extra: ["--uses", "5"])
            let listed = try fleet.cli(["token", "list", "--json"])
            let tokens = try JSONDecoder().decode([TokenInfo].self, from: Data(listed.stdout.utf8))
            let token = try #require(tokens.first)
            #expect(token.uses == 5 && token.usesLeft == 5 && token.state == .usable)
            #expect(!listed.stdout.contains("flt_"), "token secrets must never be listed")

            #expect(try fleet.cli(["token", "revoke", token.id]).status == 0)
            let after = try JSONDecoder().decode([TokenInfo].self, from: Data(try fleet.cli(["token", "list", "--json"]).stdout.utf8))
            #expect(after.first?.state == .revoked)
        }
    }
}
}

func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.posixPermissions] as? Int ?? 0) & 0o777
}

func machine(_ u: utsname) -> String {
    withUnsafeBytes(of: u.machine) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}

func parseDate(_ text: String) -> Date? { try? Date(text, strategy: .iso8601) }

@discardableResult
func uname_(_ u: inout utsname) -> Int32 { uname(&u) }
