import Foundation
import FlotillaProtocol
import Testing
@testable import FlotillaFleet

@Suite struct FleetSpecLoaderTests {
    static let exampleSpec = """
        version: 1
        release:
          expires_after: 12h
        rollout:
          canary: 2
          batch_size: 25%
          wait: 15s
          failure_threshold: 10%
        groups:
          demo:
            members: [board-7, board-8]
            runtime: picoclaw
            config:
              agents: {defaults: {model_name: demo-model, max_tokens: 1024}}
              heartbeat: {enabled: true, interval: 30}
              model_list: [{model_name: demo-model, model: llama3, api_base: "http://127.0.0.1:11434/v1"}]
            skills: [node-health, greeter]
            rollout: {canary: 1, batch_size: 3}
          lab:
            runtime: command

        """

    /// The loaded fleet, or the failure's problems rendered, for a readable test failure.
    static func load(_ fleet: TemporaryFleet) throws -> LoadedFleet {
        do {
            return try FleetSpecLoader(directory: fleet.directory).load()
        } catch {
            Issue.record("load failed:\n\(error)")
            throw error
        }
    }

    @Test func exampleLoadsIntoPublishGroups() throws {
        let fleet = try TemporaryFleet(spec: Self.exampleSpec)
        try fleet.skill("greeter")
        try fleet.skill("node-health")
        try fleet.write("skills/node-health/scripts/report.sh", "#!/bin/sh\nuptime\n", mode: 0o755)
        try fleet.write("skills/node-health/references/notes.md", "notes\n", mode: 0o600)

        let loaded = try Self.load(fleet)
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.expiresAfterSeconds == 12 * 3_600)
        #expect(loaded.publishGroups.map(\.name) == ["demo", "lab"])

        let demo = try #require(loaded.publishGroups.first)
        #expect(demo.members == ["board-7", "board-8"])
        #expect(demo.runtime == "picoclaw")
        #expect(demo.skills.map(\.name) == ["node-health", "greeter"])
        let files = try #require(demo.skills.first).files
        #expect(files.map(\.path) == ["SKILL.md", "references/notes.md", "scripts/report.sh"])
        #expect(files.map(\.mode) == [0o644, 0o644, 0o755])
        #expect(Data(base64Encoded: files[2].content) == Data("#!/bin/sh\nuptime\n".utf8))
        // PicoClaw's config format version comes first: PicoClaw loads the file as is.
        #expect(demo.config == .object([
            .init("version", .int(3)),
            .init("agents", .object([.init("defaults", .object([.init("model_name", .string("demo-model")),
                                                                 .init("max_tokens", .int(1024))]))])),
            .init("heartbeat", .object([.init("enabled", .bool(true)), .init("interval", .int(30))])),
            .init("model_list", .array([.object([.init("model_name", .string("demo-model")), .init("model", .string("llama3")),
                                                 .init("api_base", .string("http://127.0.0.1:11434/v1"))])])),
        ]))
        #expect(demo.gatewayModels == nil, "no providers: no gateway models")
        // The group's override is merged over the fleet default.
        #expect(demo.rollout == RolloutPolicy(canary: 1, batchSize: 3, batchPercent: nil, waitSeconds: 15,
                                              failureThreshold: nil, failurePercent: 10))

        let lab = loaded.publishGroups[1]
        #expect(lab.runtime == "command")
        #expect(lab.skills.isEmpty)
        #expect(lab.config == .object([]))
        #expect(lab.rollout == RolloutPolicy(canary: 2, batchSize: nil, batchPercent: 25, waitSeconds: 15,
                                             failureThreshold: nil, failurePercent: 10))

        let request = loaded.publishRequest(dryRun: true)
        #expect(request.dryRun)
        #expect(request.expiresAfterSeconds == 12 * 3_600)
        #expect(request.groups == loaded.publishGroups)
        #expect(loaded.publishRequest(dryRun: false).dryRun == false)
    }

    @Test func defaultsApplyWhenOmitted() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n")
        let loaded = try Self.load(fleet)
        #expect(loaded.expiresAfterSeconds == 30 * 86_400)
        #expect(loaded.publishGroups == [PublishGroup(name: "demo", config: .object([.init("version", .int(3))]), skills: [])])
    }

    @Test func repositoryFleetLoads() throws {
        let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let loaded = try FleetSpecLoader(directory: repository.appendingPathComponent("fleet").path).load()
        #expect(loaded.warnings.isEmpty)
        let demo = try #require(loaded.publishGroups.first { $0.name == "demo" })
        #expect(demo.runtime == "picoclaw")
        #expect(demo.skills.map(\.name) == ["node-health", "fleet-etiquette"])
        #expect(demo.rollout == RolloutPolicy(canary: 1, batchSize: nil, batchPercent: 50, waitSeconds: 2,
                                              failureThreshold: 1, failurePercent: nil))
        let leaves = demo.config.leafPaths()
        #expect(leaves["agents.defaults.model_name"] == .string("fleet-default"))
        #expect(leaves["agents.defaults.max_tokens"] == .int(2048))
        #expect(leaves["agents.defaults.temperature"] == .double(0.2))
        #expect(leaves["heartbeat.enabled"] == .bool(true))
        let health = try #require(demo.skills.first)
        #expect(health.files.map(\.path) == ["SKILL.md", "scripts/report.sh"])
        #expect(health.files.map(\.mode) == [0o644, 0o755])
    }

    @Test(arguments: [(0o755, 0o755), (0o744, 0o755), (0o701, 0o755), (0o710, 0o755), (0o644, 0o644), (0o600, 0o644), (0o666, 0o644)])
    func modeFollowsAnyExecuteBit(permissions: Int, expected: Int) throws {
        #expect(SkillReader.publishMode(posixPermissions: permissions) == expected)
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    skills: [tool]\n")
        try fleet.skill("tool")
        try fleet.write("skills/tool/run", "#!/bin/sh\n", mode: permissions)
        let skill = try #require(Self.load(fleet).publishGroups.first?.skills.first)
        #expect(skill.files.first { $0.path == "run" }?.mode == expected)
    }

    /// The keys once reserved for budgets and limits now mean something: wrong shapes are errors,
    /// and per-group keys point to where a group's budget goes.
    @Test func formerlyReservedKeysAreChecked() throws {
        let fleet = try TemporaryFleet(spec: """
            version: 1
            budgets: {monthly_tokens: 1000000}
            limits: {rpm: 60}
            groups:
              demo:
                budget: {daily: 5}
                limits: {rpm: 10}

            """)
        let error = #expect(throws: FleetSpecError.self) { try FleetSpecLoader(directory: fleet.directory).load() }
        #expect(error?.problems.map(\.message) == [
            "budgets.monthly_tokens: unknown key 'monthly_tokens' (expected one of: fleet, groups, nodes, soft_threshold, time_zone)",
            "limits.rpm: unknown key 'rpm' (expected one of: fleet, groups, nodes)",
            "groups.demo.budget: a group's budgets go under the top-level 'budgets:', as budgets.groups.demo",
            "groups.demo.limits: a group's limits go under the top-level 'limits:', as limits.groups.demo",
        ])
    }

    @Test func unusedBrokenSkillIsAWarning() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    skills: [greeter]\n")
        try fleet.skill("greeter")
        try fleet.skill("draft", description: "")
        try fleet.write("skills/README.md", "not a skill\n")
        let loaded = try Self.load(fleet)
        #expect(loaded.publishGroups.first?.skills.map(\.name) == ["greeter"])
        #expect(loaded.warnings == [
            "\(fleet.path("skills/README.md")): not a skill directory; ignored",
            "\(fleet.path("skills/draft/SKILL.md")):3: description is empty; say what the skill does and when to use it"
                + " (skill 'draft' is not used by any group)",
        ])
    }

    @Test func noGroupsIsAWarning() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups: {}\n")
        let loaded = try Self.load(fleet)
        #expect(loaded.publishGroups.isEmpty)
        #expect(loaded.warnings == ["\(fleet.path("fleet.yaml")): no groups; nothing to publish"])
    }

    @Test func missingDirectoryOrFileIsUnreadable() throws {
        let fleet = try TemporaryFleet()
        #expect(throws: FleetSpecError.unreadable(path: fleet.path("fleet.yaml"), reason: "no such file or directory")) {
            try FleetSpecLoader(directory: fleet.directory).load()
        }
        let missing = fleet.path("nowhere")
        #expect(throws: FleetSpecError.self) { try FleetSpecLoader(directory: missing).load() }
    }

    @Test func displayedPathsFollowTheDirectoryAsGiven() throws {
        let fleet = try TemporaryFleet(spec: "version: 2\n")
        do {
            _ = try FleetSpecLoader(directory: fleet.directory + "/").load()
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(fleet.directory)/fleet.yaml:1: version: unsupported schema version 2 (this flotilla reads version 1)")
        }
    }

    @Test func multipleProblemsAreReportedTogether() throws {
        let fleet = try TemporaryFleet(spec: """
            version: 1
            rollout:
              canary: 1
              speed: fast
            groups:
              demo:
                config:
                  providers: {openai: {api_key: sk-123}}
                skills: [greeter, gretter]

            """)
        try fleet.skill("greeter", description: "")
        do {
            _ = try FleetSpecLoader(directory: fleet.directory).load()
            Issue.record("expected an error")
        } catch {
            guard case .multiple(let problems) = error else {
                Issue.record("expected .multiple, got \(error)")
                return
            }
            let yaml = fleet.path("fleet.yaml")
            let skill = fleet.path("skills/greeter/SKILL.md")
            #expect(problems.map { "\($0.file ?? ""):\($0.line ?? 0)" } == ["\(yaml):4", "\(yaml):8", "\(yaml):9", "\(skill):3"])
            #expect(error.description.split(separator: "\n").count == 4)
            #expect(error.description.contains("\(yaml):9: groups.demo.skills[1]: unknown skill 'gretter' (have: greeter)"))
        }
    }
}
