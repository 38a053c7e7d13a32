import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// The example fleet on nodes running the PicoClaw stand-in (Tests/Python/picoclaw_standin.py,
/// PicoClaw's own rules): PicoClaw loads what the agent writes, calls the fleet gateway with the
/// api_base and key it read from its config and is metered as its node; a config PicoClaw refuses
/// is rolled back on the canary wave and pauses the rollout; `plan` refuses an unknown key.
@Suite(.serialized) struct PicoClawEndToEndTests {
    static let standIn = Binaries.repositoryRoot + "/Tests/Python/picoclaw_standin.py"

    /// One board: its PicoClaw home (with the user's own config), the agent's state, and the
    /// command that restarts its PicoClaw the way a service manager would.
    struct Board {
        var name: String
        var home: String
        var state: String
        var config: String { home + "/config.json" }
        /// The stand-in's `restart` (the agent's environment has PICOCLAW_HOME).
        var restart: String { "STANDIN_PIDS='\(home)/pids' /usr/bin/python3 '\(PicoClawEndToEndTests.standIn)' restart" }

        func pid() -> Int? {
            guard let data = FileManager.default.contents(atPath: home + "/.picoclaw.pid"),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return json["pid"] as? Int
        }

        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any] ?? [:]
        }

        /// Kills every stand-in process this board started.
        func stop() {
            let pids = ((try? String(contentsOfFile: home + "/pids", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
            for pid in pids { kill(pid, SIGKILL) }
        }

        /// `picoclaw agent -m TEXT` with the board's config; `trustFleetCA` sets SSL_CERT_DIR to the
        /// system directory plus the one the agent keeps the fleet CA in (docs/picoclaw.md).
        func ask(_ text: String, trustFleetCA: Bool = true, fleet: TestFleet) throws -> [String: Any] {
            var environment = ["PICOCLAW_HOME": home, "PATH": "/usr/bin:/bin"]
            if trustFleetCA { environment["SSL_CERT_DIR"] = "/etc/ssl/certs:" + home + "/flotilla-ca" }
            let result = try ChildProcess.run("/usr/bin/python3", [PicoClawEndToEndTests.standIn, "agent", "-m", text],
                                              logDirectory: fleet.root + "/logs", timeout: 60, environment: environment)
            let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? ["stderr": result.stderr]
        }
    }

    /// Enrolls `count` boards whose PicoClaw (the stand-in) is already running with the user's
    /// own config — a local model and the `pico` web channel — and starts their agents with
    /// PICOCLAW_HOME in the environment and a restart command.
    static func boards(_ fleet: TestFleet, count: Int) throws -> [Board] {
        let bundle = try fleet.provision(group: "demo", extra: ["--uses", "\(count)"])
        var boards: [Board] = []
        for index in 1...count {
            let enrolled = try fleet.enroll(bundle: bundle, name: "demo-\(index)")
            try #require(enrolled.status == 0, "\(enrolled.stderr)")
            let home = fleet.root + "/picoclaw-\(index)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let board = Board(name: "demo-\(index)", home: home, state: enrolled.stateDirectory)
            try """
                {"version": 3,
                 "gateway": {"host": "127.0.0.1", "port": \(Self.freePort()), "log_level": "info"},
                 "agents": {"defaults": {"model_name": "mine"}},
                 "model_list": [{"model_name": "mine", "provider": "openai", "model": "llama3", "api_base": "http://127.0.0.1:11434/v1"}],
                 "channel_list": {"web": {"type": "pico", "enabled": true}}}
                """.write(toFile: board.config, atomically: true, encoding: .utf8)
            let started = try ChildProcess.run("/bin/sh", ["-c", board.restart], logDirectory: fleet.root + "/logs", timeout: 30,
                                               environment: ["PICOCLAW_HOME": home])
            #expect(started.status == 0, "\(started.stderr)")
            try #require(try fleet.eventually(timeout: 15) { board.pid() != nil }, "the stand-in did not start")
            _ = try fleet.startAgent(stateDirectory: board.state, label: board.name,
                                     extraArguments: ["--runtime", "picoclaw", "--picoclaw-restart", board.restart],
                                     environment: ["PICOCLAW_HOME": home])
            boards.append(board)
        }
        return boards
    }

    /// The repository's example fleet with its provider pointed at the fake provider.
    static func exampleFleet(_ fleet: TestFleet, providerURL: String) throws -> String {
        let spec = try ReleaseRolloutTests.exampleFleet(in: fleet.root)
        let path = spec + "/fleet.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "https://api.openai.com/v1", with: providerURL + "/v1").write(toFile: path, atomically: true, encoding: .utf8)
        return spec
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Heartbeats every 4 s: an agent checking a PicoClaw restart (a few seconds) does not
    /// heartbeat meanwhile and must not look offline.
    static let heartbeat = "4s"

    @Test func theExampleFleetRunsOnPicoClawAndCallsTheGatewayAsItsNode() async throws {
        try await TestFleet.with(heartbeatInterval: Self.heartbeat) { fleet in
            let providerURL = try GatewaySetup.startProvider(fleet)
            let spec = try Self.exampleFleet(fleet, providerURL: providerURL)
            let boards = try Self.boards(fleet, count: 2)
            defer { boards.forEach { $0.stop() } }
            try #require(try fleet.eventually { try fleet.nodes().filter { $0.status == .online }.count == 2 })
            let pidsBefore = boards.map { $0.pid() }

            let apply = try fleet.cli(["apply", spec, "--yes"])
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(try fleet.cli(["secret", "set", "openai"], stdin: GatewaySetup.providerKey + "\n").status == 0)
            let nodes = try fleet.nodes()
            #expect(nodes.allSatisfy { $0.releaseStatus == "applied" }, "\(nodes.map { ($0.name, $0.releaseStatus, $0.releaseError) }) \(apply.stdout)")
            for board in boards {
                let log = (try? String(contentsOfFile: fleet.root + "/logs/\(board.name).err", encoding: .utf8)) ?? ""
                #expect(log.contains("msg=\"release applied\" version=1 status=applied health=passed"), "\(board.name): PicoClaw restarted and checked")
            }

            for (index, board) in boards.enumerated() {
                #expect(board.pid() != nil && board.pid() != pidsBefore[index], "\(board.name): a new PicoClaw process runs the new config")
                let config = try board.json()
                #expect(config["version"] as? Int == 3)
                #expect(((config["agents"] as? [String: Any])?["defaults"] as? [String: Any])?["model_name"] as? String == "fleet-default")
                let models = config["model_list"] as? [[String: Any]] ?? []
                #expect(models.map { $0["model_name"] as? String } == ["mine", "fleet-default", "fleet-embed"], "the user's model stays")
                let gateway = try #require(models.first { $0["model_name"] as? String == "fleet-default" })
                #expect(gateway["api_base"] as? String == fleet.serverURL + "/v1")
                #expect(gateway["api_keys"] as? [String] == ["file://flotilla-gateway.key"], "the key only by reference")
                let key = try String(contentsOfFile: board.state + "/gateway.key", encoding: .utf8)
                #expect(try String(contentsOfFile: board.home + "/flotilla-gateway.key", encoding: .utf8) == key)
                let text = try String(contentsOfFile: board.config, encoding: .utf8)
                #expect(!text.contains(key), "never inline in config.json")
                #expect(!FileManager.default.fileExists(atPath: board.config + "." + Self.today() + ".bak"), "not migrated")
            }

            // PicoClaw's own call: exactly the api_base and key it read, trusting the fleet CA
            // through SSL_CERT_DIR alongside the system's roots.
            let answer = try boards[0].ask("hello from the board", fleet: fleet)
            #expect(answer["status"] as? Int == 200, "\(answer)")
            #expect(answer["api_base"] as? String == fleet.serverURL + "/v1")
            #expect(answer["model"] as? String == "fleet-default")
            let untrusted = try boards[1].ask("no fleet CA", trustFleetCA: false, fleet: fleet)
            #expect(untrusted["status"] is NSNull && (untrusted["error"] as? String ?? "").contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted)")
            let usage = try GatewayEndToEndTests.usage(fleet, by: "node")
            #expect(usage.rows.first { $0.key == "demo-1" }?.calls == 1, "\(usage.rows)")
            #expect(usage.rows.first { $0.key == "demo-2" } == nil)
        }
    }

    /// A group's local model: the release writes it into PicoClaw's config as the last
    /// fallback; with the coordinator stopped the board's next turn is answered by the local
    /// server (a fake provider without a key stands in for llama-server), and only the gateway's
    /// call is metered.
    @Test func withTheCoordinatorStoppedPicoClawGoesOnWithTheLocalModel() async throws {
        try await TestFleet.with(heartbeatInterval: Self.heartbeat) { fleet in
            let providerURL = try GatewaySetup.startProvider(fleet)
            let localURL = try GatewaySetup.startFakeProvider(fleet, label: "local-model", key: nil)
            let spec = try Self.exampleFleet(fleet, providerURL: providerURL)
            let path = spec + "/fleet.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "    runtime: picoclaw\n", with: "    runtime: picoclaw\n    local_model: {url: \(localURL)/v1, model: qwen-local}\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let boards = try Self.boards(fleet, count: 1)
            defer { boards.forEach { $0.stop() } }
            try #require(try fleet.eventually { try fleet.nodes().first?.status == .online })
            let apply = try fleet.cli(["apply", spec, "--yes"])
            try #require(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(apply.stdout.contains("model_list[local-model]"), "\(apply.stdout)")
            #expect(try fleet.cli(["secret", "set", "openai"], stdin: GatewaySetup.providerKey + "\n").status == 0)
            try #require(try fleet.eventually(timeout: 30) { try fleet.nodes().first?.releaseStatus == "applied" })

            let config = try boards[0].json()
            let entry = (config["model_list"] as? [[String: Any]] ?? []).first { $0["model_name"] as? String == "local-model" }
            #expect(entry?["api_base"] as? String == localURL + "/v1" && entry?["model"] as? String == "qwen-local" && entry?["api_keys"] == nil)
            let fallbacks = ((config["agents"] as? [String: Any])?["defaults"] as? [String: Any])?["model_fallbacks"] as? [String]
            #expect(fallbacks == ["local-model"])
            // The agent checks the local server's /health (llama-server's) and says so.
            #expect(try fleet.eventually(timeout: 15) { try fleet.nodes().first?.localModel == "up" })
            let table = try fleet.cli(["nodes"]).stdout
            #expect(table.contains("LOCAL") && table.split(separator: "\n").contains { $0.contains("demo-1") && $0.contains(" up ") }, "\(table)")

            let online = try boards[0].ask("hello", fleet: fleet)
            #expect(online["status"] as? Int == 200 && online["api_base"] as? String == fleet.serverURL + "/v1", "\(online)")
            _ = fleet.stopCoordinator()
            let offline = try boards[0].ask("still there?", fleet: fleet)
            #expect(offline["status"] as? Int == 200, "\(offline)")
            #expect(offline["api_base"] as? String == localURL + "/v1" && offline["model"] as? String == "qwen-local", "\(offline)")

            // The gateway metered its one call; the local one cost nothing and is not in usage.
            try fleet.startCoordinatorAgain()
            let usage = try GatewayEndToEndTests.usage(fleet, by: "node")
            #expect(usage.rows.first { $0.key == "demo-1" }?.calls == 1, "\(usage.rows)")
        }
    }

    @Test func aConfigPicoClawRefusesIsRolledBackOnTheCanaryAndPausesTheRollout() async throws {
        try await TestFleet.with(heartbeatInterval: Self.heartbeat) { fleet in
            let providerURL = try GatewaySetup.startProvider(fleet)
            let spec = try Self.exampleFleet(fleet, providerURL: providerURL)
            let boards = try Self.boards(fleet, count: 3)
            defer { boards.forEach { $0.stop() } }
            try #require(try fleet.eventually { try fleet.nodes().filter { $0.status == .online }.count == 3 })
            #expect(try fleet.cli(["apply", spec, "--yes"]).status == 0)

            // A key PicoClaw does not know never leaves the coordinator.
            let path = spec + "/fleet.yaml"
            let good = try String(contentsOfFile: path, encoding: .utf8)
            try good.replacingOccurrences(of: "temperature: 0.2", with: "temperature: 0.2\n          modle_name: fleet-default")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let plan = try fleet.cli(["plan", spec])
            #expect(plan.status != 0)
            #expect((plan.stdout + plan.stderr).contains("unknown key 'modle_name'"))
            #expect((plan.stdout + plan.stderr).contains("did you mean 'model_name'?"))

            // A second `pico` channel: fine in the spec, refused by PicoClaw on boards that have one.
            try good.replacingOccurrences(of: "    skills: [node-health", with: "      channel_list:\n        ops: {type: pico, enabled: true}\n    skills: [node-health")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let configsBefore = try boards.map { try Data(contentsOf: URL(fileURLWithPath: $0.config)) }
            let apply = try fleet.cli(["apply", spec, "--yes"])
            #expect(apply.status != 0)
            #expect(apply.stdout.contains("paused"), "\(apply.stdout)")
            let rollout = try JSONDecoder().decode(RolloutView.self, from: Data(try fleet.cli(["rollout", "status", "2", "--json"]).stdout.utf8))
            #expect(rollout.state == .paused)
            let canary = try #require(rollout.nodes?.first { $0.status == "rolled_back" })
            #expect(canary.errorCode == "health_check_failed")
            #expect(canary.message?.contains("channel type \"pico\" is singleton") == true, "PicoClaw's own words: \(String(describing: canary.message))")
            #expect(rollout.nodes?.filter { $0.status == "waiting" }.count == 2, "later waves held back")
            for (index, board) in boards.enumerated() {
                #expect(try Data(contentsOf: URL(fileURLWithPath: board.config)) == configsBefore[index], "\(board.name): config as before")
            }
            // The canary's PicoClaw runs again, on the restored config.
            let board = try #require(boards.first { $0.name == canary.name })
            #expect(try fleet.eventually(timeout: 15) { board.pid() != nil })
        }
    }

    static func today() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd"
        return formatter.string(from: Date())
    }
}
}
