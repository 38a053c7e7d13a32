import FlotillaProtocol
import Crypto
import Foundation
import GRDB
import Testing

extension EndToEnd {
/// Signed releases end to end: `flotilla apply` of a fleet spec, real agents verifying and
/// applying it into PicoClaw workspaces, refusals, health-check rollback and the failure threshold.
@Suite(.serialized) struct ReleaseRolloutTests {
    /// A copy of the repository's example fleet in `directory`, with no wait between waves.
    static func exampleFleet(in directory: String) throws -> String {
        let fleet = directory + "/fleet"
        try FileManager.default.copyItem(atPath: Binaries.repositoryRoot + "/fleet", toPath: fleet)
        try FleetFiles.setWait(fleet, to: "0s")
        return fleet
    }

    /// Every regular file under `directory`, relative path to bytes.
    static func files(under directory: String) -> [String: Data] {
        var result: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return result }
        for case let path as String in walker {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[path] = FileManager.default.contents(atPath: directory + "/" + path)
            }
        }
        return result
    }

    struct Agent {
        var name: String
        var state: String
        var home: String
        var arguments: [String]
        var process: ChildProcess
        var workspace: String { home + "/workspace" }
    }

    /// Enrolls and starts `count` agents; `extra(workspace)` replaces the default PicoClaw runtime flags.
    static func startAgents(_ fleet: TestFleet, count: Int, extra: (String) -> [String] = { _ in [] }) throws -> [Agent] {
        let bundle = try fleet.provision(group: "demo", extra: ["--uses", "\(count)"])
        var agents: [Agent] = []
        for i in 1...count {
            let enrolled = try fleet.enroll(bundle: bundle, name: "demo-\(i)")
            try #require(enrolled.status == 0, "\(enrolled.stderr)")
            let home = fleet.root + "/picoclaw-\(i)"
            let workspace = home + "/workspace"
            try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
            let custom = extra(workspace)
            let arguments = custom.isEmpty ? ["--runtime", "picoclaw", "--workspace", workspace, "--picoclaw-home", home] : custom
            let process = try fleet.startAgent(stateDirectory: enrolled.stateDirectory, label: "demo-\(i)", extraArguments: arguments)
            agents.append(Agent(name: "demo-\(i)", state: enrolled.stateDirectory, home: home, arguments: arguments, process: process))
        }
        return agents
    }

    @Test func applyConvergesThreeAgentsByteForByteAndASecondApplyChangesOnlyTheChangedSkill() async throws {
        try await TestFleet.with { fleet in
            let spec = try Self.exampleFleet(in: fleet.root)
            let agents = try Self.startAgents(fleet, count: 3)
            // A user's own PicoClaw settings that Flotilla must leave alone.
            try Data(#"{"version": 3, "gateway": {"port": 18790}, "agents": {"defaults": {"workspace": "/home/pi/ws"}}}"#.utf8)
                .write(to: URL(fileURLWithPath: agents[0].home + "/config.json"))
            try #require(try fleet.eventually { try fleet.nodes().filter { $0.status == .online }.count == 3 })

            let apply = try fleet.cli(["apply", spec, "--yes"])
            #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
            #expect(apply.stdout.contains("Published release 1"))
            #expect(apply.stdout.contains("completed"))

            let expected = Self.files(under: spec + "/skills")
            for agent in agents {
                #expect(Self.files(under: agent.workspace + "/skills") == expected, "\(agent.name) skills differ")
                let script = agent.workspace + "/skills/node-health/scripts/report.sh"
                #expect(FileManager.default.isExecutableFile(atPath: script))
            }
            let nodes = try fleet.nodes()
            #expect(nodes.allSatisfy { $0.releaseVersion == 1 && $0.releaseStatus == "applied" }, "\(nodes.map { ($0.name, $0.releaseStatus) })")

            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: agents[0].home + "/config.json"))) as? [String: Any]
            let defaults = (config?["agents"] as? [String: Any])?["defaults"] as? [String: Any]
            #expect(defaults?["workspace"] as? String == "/home/pi/ws", "user keys kept")
            #expect(defaults?["model_name"] != nil, "fleet keys merged")
            #expect((config?["gateway"] as? [String: Any])?["port"] as? Int == 18790)

            // Change one skill: the plan names only it, and only it changes on the nodes.
            let unchangedBefore = try FileManager.default.attributesOfItem(atPath: agents[1].workspace + "/skills/node-health/SKILL.md")
            let etiquette = spec + "/skills/fleet-etiquette/SKILL.md"
            try (String(contentsOfFile: etiquette, encoding: .utf8) + "\nAlways name the node you run on.\n")
                .write(toFile: etiquette, atomically: true, encoding: .utf8)
            let plan = try fleet.cli(["plan", spec])
            #expect(plan.stdout.contains("~ skill fleet-etiquette"))
            #expect(!plan.stdout.contains("node-health"))
            let second = try fleet.cli(["apply", spec, "--yes"])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            #expect(second.stdout.contains("Published release 2"))
            for agent in agents {
                #expect(Self.files(under: agent.workspace + "/skills") == Self.files(under: spec + "/skills"))
            }
            let unchangedAfter = try FileManager.default.attributesOfItem(atPath: agents[1].workspace + "/skills/node-health/SKILL.md")
            #expect(unchangedAfter[.systemFileNumber] as? Int == unchangedBefore[.systemFileNumber] as? Int, "an unchanged skill is not rewritten")
            #expect(try fleet.nodes().allSatisfy { $0.releaseVersion == 2 && $0.releaseStatus == "applied" })
        }
    }

    @Test func aFileTamperedInTheDatabaseIsRefusedAndNothingChangesOnDisk() async throws {
        try await TestFleet.with { fleet in
            let spec = try Self.exampleFleet(in: fleet.root)
            let agents = try Self.startAgents(fleet, count: 1)
            try #require(try fleet.eventually { try fleet.node("demo-1")?.status == .online })
            #expect(try fleet.cli(["apply", spec, "--yes"]).status == 0)
            let before = Self.files(under: agents[0].workspace)

            // Publish a change and tamper with the stored file before the node fetches it (the
            // database is inside the threat model): the agent is stopped meanwhile.
            #expect(agents[0].process.stop() == 0)
            let etiquette = spec + "/skills/fleet-etiquette/SKILL.md"
            let changed = try String(contentsOfFile: etiquette, encoding: .utf8) + "\nNew line.\n"
            try changed.write(toFile: etiquette, atomically: true, encoding: .utf8)
            #expect(try fleet.cli(["apply", spec, "--yes", "--detach"]).status == 0)
            let database = try DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite")
            let sha = SHA256.hash(data: Data(changed.utf8)).map { String(format: "%02x", $0) }.joined()
            try await database.write { db in
                try db.execute(sql: "UPDATE blobs SET data = ? WHERE sha256 = ?", arguments: [Data((changed + "rm -rf /\n").utf8), sha])
                #expect(db.changesCount == 1)
            }
            _ = try fleet.startAgent(stateDirectory: agents[0].state, label: "demo-1-again", extraArguments: agents[0].arguments)
            try #require(try fleet.eventually { try fleet.node("demo-1")?.releaseVersion == 2 })
            let node = try #require(try fleet.node("demo-1"))
            #expect(node.releaseStatus == "failed")
            #expect(node.releaseError == "hash_mismatch")
            #expect(Self.files(under: agents[0].workspace) == before, "nothing applied")
        }
    }

    @Test func aFailedHealthCheckRestoresThePreviousReleaseAndPausesTheRollout() async throws {
        try await TestFleet.with { fleet in
            let spec = try Self.exampleFleet(in: fleet.root)
            let healthFlag = fleet.root + "/healthy"
            FileManager.default.createFile(atPath: healthFlag, contents: Data())
            let agents = try Self.startAgents(fleet, count: 3) { workspace in
                ["--runtime", "command", "--workspace", workspace, "--health-command", "test -f \(healthFlag)"]
            }
            try #require(try fleet.eventually { try fleet.nodes().filter { $0.status == .online }.count == 3 })
            #expect(try fleet.cli(["apply", spec, "--yes"]).status == 0)
            let good = Self.files(under: agents[0].workspace)

            // Release 2 fails its health check on the canary: restored, rollout paused.
            try FileManager.default.removeItem(atPath: healthFlag)
            let etiquette = spec + "/skills/fleet-etiquette/SKILL.md"
            try (String(contentsOfFile: etiquette, encoding: .utf8) + "\nBroken change.\n").write(toFile: etiquette, atomically: true, encoding: .utf8)
            let apply = try fleet.cli(["apply", spec, "--yes"])
            #expect(apply.status != 0)
            #expect(apply.stdout.contains("paused"))
            let rollout = try JSONDecoder().decode(RolloutView.self, from: Data(try fleet.cli(["rollout", "status", "2", "--json"]).stdout.utf8))
            #expect(rollout.state == .paused)
            let failed = try #require(rollout.nodes?.first { $0.status == "rolled_back" })
            #expect(failed.errorCode == "health_check_failed")
            #expect(rollout.nodes?.filter { $0.status == "waiting" }.count == 2, "later waves held back")
            let canary = try #require(agents.first { $0.name == failed.name })
            #expect(Self.files(under: canary.workspace) == good, "previous release restored byte for byte")

            // Fixed and resumed: the rest of the fleet gets release 2.
            FileManager.default.createFile(atPath: healthFlag, contents: Data())
            #expect(try fleet.cli(["rollout", "resume", "2"]).status == 0)
            let converged = try fleet.eventually(timeout: 30) {
                try fleet.nodes().filter { $0.releaseVersion == 2 && $0.releaseStatus == "applied" }.count >= 2
            }
            #expect(converged)
        }
    }
}
}

/// Small helpers over spec files.
enum FleetFiles {
    static func setWait(_ fleet: String, to wait: String) throws {
        let path = fleet + "/fleet.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.drop { $0 == " " }
            return trimmed.hasPrefix("wait:") ? String(line.prefix(line.count - trimmed.count)) + "wait: \(wait)" : String(line)
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
