import Foundation
import FlotillaProtocol
import Testing
@testable import FlotillaFleet

/// Problems in `fleet.yaml`: each names the file and the line to fix.
@Suite struct FleetSpecValidationTests {
    /// Every problem loading a spec with `spec` as `fleet.yaml` and skills `greeter` and `node-health`.
    static func problems(_ spec: String) throws -> (yaml: String, problems: [FleetSpecError]) {
        let fleet = try TemporaryFleet(spec: spec)
        try fleet.skill("greeter")
        try fleet.skill("node-health")
        do {
            let loaded = try FleetSpecLoader(directory: fleet.directory).load()
            Issue.record("expected problems, loaded \(loaded.publishGroups.map(\.name))")
            return (fleet.path("fleet.yaml"), [])
        } catch {
            return (fleet.path("fleet.yaml"), error.problems)
        }
    }

    /// The single problem of `spec`, checked to be in `fleet.yaml` at `line` with `message`.
    static func expectProblem(_ spec: String, line: Int, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (yaml, problems) = try problems(spec)
        #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
        let problem = try #require(problems.first, sourceLocation: sourceLocation)
        #expect(problem.file == yaml, sourceLocation: sourceLocation)
        #expect(problem.line == line, sourceLocation: sourceLocation)
        #expect(problem.message == message, sourceLocation: sourceLocation)
        #expect(problem.description == "\(yaml):\(line): \(message)", sourceLocation: sourceLocation)
    }

    @Test func badYAML() throws {
        let (yaml, problems) = try Self.problems("version: 1\ngroups:\n  demo:\n    skills: [greeter\n  other: 1\n")
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        guard case .syntax(let file, let line, let message) = problem else {
            Issue.record("expected a syntax error, got \(problem)")
            return
        }
        #expect(file == yaml)
        #expect(line == 5)
        #expect(problem.description.hasPrefix("\(yaml):5: invalid YAML: "))
        #expect(!message.isEmpty)
    }

    @Test func tabsAreExplained() throws {
        let (_, problems) = try Self.problems("version: 1\ngroups:\n  demo:\n\tskills: []\n")
        #expect(problems.map(\.line) == [4])
        #expect(problems.first?.message.hasSuffix("; YAML does not allow tabs for indentation") == true)
    }

    @Test func crlfSpecLoads() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\r\ngroups:\r\n  demo:\r\n    runtime: command\r\n    config: {a: 1}\r\n")
        #expect(try FleetSpecLoader(directory: fleet.directory).load().publishGroups.first?.config == .object([.init("a", .int(1))]))
    }

    @Test func emptyFile() throws {
        try Self.expectProblem("# nothing yet\n", line: 1, "the file is empty; it needs at least 'version: 1' and 'groups:'")
    }

    @Test func unknownTopLevelKey() throws {
        try Self.expectProblem("version: 1\nrelease: {expires_after: 1d}\nrollouts: {canary: 1}\ngroups: {}\n", line: 3,
                               "rollouts: unknown key 'rollouts' (expected one of: version, release, rollout, providers, models, budgets, limits, groups)")
    }

    @Test func unknownGroupKey() throws {
        try Self.expectProblem("version: 1\ngroups:\n  demo:\n    skills: [greeter]\n    skill: [node-health]\n", line: 5,
                               "groups.demo.skill: unknown key 'skill' (expected one of: members, runtime, config, skills, models, rollout, local_model)")
    }

    @Test func unknownRolloutKey() throws {
        try Self.expectProblem("version: 1\ngroups:\n  demo:\n    rollout:\n      canary: 1\n      batch: 2\n", line: 6,
                               "groups.demo.rollout.batch: unknown key 'batch' (expected one of: canary, batch_size, wait, failure_threshold)")
    }

    @Test func unknownSkill() throws {
        try Self.expectProblem("""
            version: 1
            groups:
              demo:
                skills:
                  - node-health
                  - gretter

            """, line: 6, "groups.demo.skills[1]: unknown skill 'gretter' (have: greeter, node-health)")
    }

    @Test func invalidSkillNameInGroup() throws {
        try Self.expectProblem("version: 1\ngroups:\n  demo:\n    skills: [greeter, my_skill]\n", line: 4,
                               "groups.demo.skills[1]: invalid skill name 'my_skill' (letters and digits in hyphen-separated words, at most 64)")
    }

    @Test func secretKeyInConfig() throws {
        try Self.expectProblem("""
            version: 1
            groups:
              demo:
                config:
                  agents: {defaults: {model_name: m}}
                  providers:
                    openai:
                      API_Key: sk-123

            """, line: 8,
            "groups.demo.config.providers.openai.API_Key: secrets must not be in the fleet spec ('API_Key'); provider keys live on the coordinator")
    }

    @Test(arguments: ["api_key", "api_keys", "apikey", "apiKey", "api-key", "secret", "Password", "TOKEN", "authorization"])
    func secretKeyNamesAtAnyDepth(key: String) throws {
        let (_, problems) = try Self.problems("version: 1\ngroups:\n  demo:\n    config:\n      model_list:\n        - model_name: a\n          \(key): [x]\n")
        #expect(problems.map(\.line) == [7])
        #expect(problems.first?.message.hasPrefix("groups.demo.config.model_list[0].\(key): secrets must not be in the fleet spec") == true)
    }

    @Test func keysThatOnlyLookLikeSecretsAreFine() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    runtime: command\n    config: {agents: {defaults: {max_tokens: 1, token_budget: 2, secret_sauce: x}}}\n")
        #expect(try FleetSpecLoader(directory: fleet.directory).load().publishGroups.count == 1)
    }

    @Test func configMustBeAMapping() throws {
        try Self.expectProblem("version: 1\ngroups:\n  demo:\n    config: [a, b]\n", line: 4,
                               "groups.demo.config: expected a mapping of runtime config keys, found a list")
    }

    @Test func duplicateGroup() throws {
        try Self.expectProblem("""
            version: 1
            groups:
              demo:
                skills: [greeter]
              lab: {}
              demo:
                skills: [node-health]

            """, line: 6, "invalid YAML: duplicate key 'demo' (first at line 3)")
    }

    @Test func invalidGroupName() throws {
        try Self.expectProblem("version: 1\ngroups:\n  Demo_1: {}\n", line: 3,
                               "groups.Demo_1: invalid group name 'Demo_1' (1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen)")
    }

    @Test func missingAndWrongVersion() throws {
        try Self.expectProblem("groups: {}\n", line: 1, "version: required: the schema version, 'version: 1'")
        try Self.expectProblem("groups: {}\nversion: 2\n", line: 2, "version: unsupported schema version 2 (this flotilla reads version 1)")
        try Self.expectProblem("version: \"1\"\ngroups: {}\n", line: 1, "version: expected an integer, found '1'")
    }

    @Test func missingGroups() throws {
        try Self.expectProblem("version: 1\n", line: 1, "groups: required: a mapping of group names to what their nodes run")
    }

    @Test func unknownRuntime() throws {
        try Self.expectProblem("version: 1\ngroups:\n  demo:\n    runtime: docker\n", line: 4,
                               "groups.demo.runtime: unknown runtime 'docker' (expected one of: picoclaw, command)")
    }

    @Test func badRolloutValues() throws {
        let (_, problems) = try Self.problems("""
            version: 1
            rollout:
              canary: -1
              batch_size: 0
              wait: 10
              failure_threshold: 150%
            groups:
              demo:
                rollout: {batch_size: 2.5}

            """)
        #expect(problems.map(\.line) == [3, 4, 5, 6, 9])
        #expect(problems.map(\.message) == [
            "rollout.canary: must be 0 or more (nodes in the first wave)",
            "rollout.batch_size: expected an integer of at least 1 or a percentage like 25% (more than 0, at most 100), found 0",
            "rollout.wait: expected a duration like 500ms, 90s, 15m, 12h or 30d, found 10",
            "rollout.failure_threshold: expected an integer of at least 1 or a percentage like 25% (more than 0, at most 100), found '150%'",
            "groups.demo.rollout.batch_size: expected an integer of at least 1 or a percentage like 25% (more than 0, at most 100), found 2.5",
        ])
    }

    @Test func expiryBounds() throws {
        try Self.expectProblem("version: 1\nrelease:\n  expires_after: 30s\ngroups: {}\n", line: 3,
                               "release.expires_after: must be between 1m and 365d")
    }

    @Test func memberRules() throws {
        let (_, problems) = try Self.problems("""
            version: 1
            groups:
              demo:
                members: [board-7, board-7, -bad]
              lab:
                members: [board-7]

            """)
        #expect(problems.map(\.line) == [4, 4, 6])
        #expect(problems.map(\.message) == [
            "groups.demo.members[1]: 'board-7' is listed twice",
            "groups.demo.members[2]: invalid node name '-bad' (1-63 letters, digits, '.', '_' or '-', starting with a letter or digit)",
            "groups.lab.members: node 'board-7' is already a member of group 'demo'",
        ])
    }

    @Test func mergeKeysAreRefused() throws {
        try Self.expectProblem("""
            version: 1
            groups:
              demo:
                config:
                  base: &base {max_tokens: 1}
                  agents:
                    <<: *base

            """, line: 7, "groups.demo.config.agents: YAML merge keys (<<) are not supported; write the keys out")
    }
}
