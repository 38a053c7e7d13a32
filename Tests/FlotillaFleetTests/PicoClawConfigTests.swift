import FlotillaProtocol
import Foundation
import Testing
@testable import FlotillaFleet

/// A PicoClaw group's config checked against PicoClaw's own schema (generated from v0.2.9's
/// config structs): what PicoClaw would refuse on every node is refused by `plan` instead.
@Suite struct PicoClawConfigTests {
    /// The problems of a one-group PicoClaw spec whose config is `config` (indented 6 spaces).
    static func problems(_ config: String, extra: String = "") throws -> [FleetSpecError] {
        let body = config.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
        return try FleetSpecValidationTests.problems("version: 1\n\(extra)groups:\n  demo:\n    config:\n\(body)\n").problems
    }

    static func messages(_ config: String, extra: String = "") throws -> [String] {
        try problems(config, extra: extra).map(\.message)
    }

    /// Whether a one-group PicoClaw spec with `config` loads without a problem.
    static func loads(_ config: String) throws -> Bool {
        let body = config.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    config:\n\(body)\n")
        do {
            _ = try FleetSpecLoader(directory: fleet.directory).load()
            return true
        } catch {
            Issue.record("\(error)")
            return false
        }
    }

    static let refused = "PicoClaw v0.2.9 refuses a config.json with keys it does not know"

    @Test func theShippedSchemaIsPicoClaws() {
        let schema = PicoClawSchema.shipped
        #expect(schema.picoclawVersion == "v0.2.9")
        #expect(schema.picoclawCommit.count == 40)
        #expect(schema.configVersion == 3)
        #expect(schema.fields(of: "ModelConfig")["api_base"] == "string")
        #expect(schema.fields(of: "ModelConfig")["api_keys"] == "[secret")
        #expect(schema.fields(of: "AgentDefaults")["model_name"] == "string")
        #expect(schema.fields(of: "AgentDefaults")["model"] == nil, "a version-0 key, unknown in version 3")
        #expect(schema.fields(of: "Config")["providers"] == nil)
        #expect(schema.secretNames.isSuperset(of: ["auth_token", "bot_token", "app_secret", "webhook_url"]))
        #expect(schema.channelTypes.contains("telegram"))
        #expect(schema.singletonChannelTypes == ["pico", "pico_client"])
    }

    @Test func unknownKeysAreRefusedWithTheKeyMeant() throws {
        let problems = try Self.problems("agents:\n  defaults:\n    modle_name: x\n    max_tokens: 10")
        #expect(problems.map(\.line) == [7])
        #expect(problems.map(\.message) == ["groups.demo.config.agents.defaults.modle_name: unknown key 'modle_name': "
                                            + Self.refused + "; did you mean 'model_name'?"])
        #expect(try Self.messages("Heartbeat: {enabled: true}") == ["groups.demo.config.Heartbeat: unknown key 'Heartbeat': "
                                                                     + Self.refused + "; did you mean 'heartbeat'?"])
        #expect(try Self.messages("tools: {web: {bravo: {enabled: true}}}").first?.hasSuffix("did you mean 'brave'?") == true)
        // Nothing like it: the keys known there, when few.
        #expect(try Self.messages("heartbeat: {colour: blue}") == ["groups.demo.config.heartbeat.colour: unknown key 'colour': "
                                                                    + Self.refused + " (known here: enabled, interval)"])
    }

    @Test func versionZeroKeysGetGuidance() throws {
        let model = try Self.messages("agents: {defaults: {model: gpt-4o}}")
        #expect(model == ["groups.demo.config.agents.defaults.model: unknown key 'model': " + Self.refused
                          + "; did you mean 'model_name'? (it names a model_list entry, such as a gateway model)"])
        let providers = try Self.messages("providers: {openai: {api_base: x}}")
        #expect(providers.first?.contains("LLM providers go in the fleet spec's top-level providers:") == true)
    }

    @Test func valuesPicoClawCannotDecodeAreRefused() throws {
        #expect(try Self.messages("agents: {defaults: {max_tokens: lots}}")
                == ["groups.demo.config.agents.defaults.max_tokens: expected a whole number, found 'lots'; PicoClaw cannot decode it"])
        #expect(try Self.messages("agents: {defaults: {max_tokens: 1.5}}").first?.contains("expected a whole number, found 1.5") == true)
        #expect(try Self.messages("heartbeat: {enabled: \"yes\"}").first?.contains("expected true or false") == true)
        #expect(try Self.messages("agents: {defaults: {model_fallbacks: a}}").first?.contains("expected a list") == true)
        #expect(try Self.messages("heartbeat: [1]").first?.contains("expected a mapping, found a list") == true)
        // Numbers are numbers, null keeps PicoClaw's default, and types with their own decoder take their shapes.
        #expect(try Self.loads("agents: {defaults: {temperature: 1, max_tokens: ~}, list: [{id: a, model: m1}, {id: b, model: {primary: m2}}]}"))
        #expect(try Self.loads("model_list: [{model_name: a, model: b, extra_body: {anything: [1, {goes: true}]}}]"))
    }

    @Test func keysFlotillaOwnsAreRefused() throws {
        #expect(try Self.messages("version: 3") == ["groups.demo.config.version: Flotilla writes \"version\": 3, "
                                                    + "the format PicoClaw v0.2.9 loads; leave it out"])
        #expect(try Self.messages("agents: {defaults: {workspace: /srv/pc}}").first?.contains("a path on each board") == true)
    }

    @Test(arguments: [
        "channel_list: {tg: {type: telegram, settings: {bot_token: x}}}",
        "channel_list: {fs: {type: feishu, settings: {app_secret: x}}}",
        "channel_list: {hook: {type: slack_webhook, settings: {webhook_url: x}}}",
        "voice: {elevenlabs_api_key: x}",
        "tools: {web: {brave: {api_keys: [x]}}}",
        "model_list: [{model_name: a, model: b, custom_headers: {Authorization: x}}]",
    ])
    func credentialsAreRefusedWhereverPicoClawKeepsThem(config: String) throws {
        let messages = try Self.messages(config)
        #expect(messages.count == 1, "\(messages)")
        #expect(messages.first?.contains("secrets must not be in the fleet spec") == true, "\(messages)")
    }

    @Test func modelEntriesFollowPicoClawsRules() throws {
        #expect(try Self.messages("model_list: [{model_name: a}]") == ["groups.demo.config.model_list[0]: model is required (PicoClaw refuses the entry)"])
        #expect(try Self.messages("model_list: [{model: b}]") == ["groups.demo.config.model_list[0]: model_name is required (PicoClaw refuses the entry)"])
        #expect(try Self.messages("model_list: [{model_name: a, model: \"gpt 4\"}]").first?.contains("whitespace") == true)
        #expect(try Self.messages("model_list: [{model_name: a, model: \"/x\"}]").first?.contains("must not start with /") == true)
        #expect(try Self.messages("gateway: {port: 70000}").first?.contains("PicoClaw refuses to start") == true)
    }

    @Test func channelsFollowPicoClawsRules() throws {
        #expect(try Self.messages("channel_list: {telegramm: {enabled: false}}")
                == ["groups.demo.config.channel_list.telegramm: unknown channel type 'telegramm' (PicoClaw refuses the config); did you mean 'telegram'?"])
        #expect(try Self.messages("channel_list: {a: {type: pico, enabled: true}, b: {type: pico, enabled: true}}")
                == ["groups.demo.config.channel_list: channel type 'pico' allows one enabled instance, found 2: a, b"])
        #expect(try Self.loads("channel_list: {a: {type: pico, enabled: true}, b: {type: pico, enabled: false}}"))
    }

    static let providers = """
        providers:
          openai: {kind: openai, base_url: "https://api.openai.com/v1", models: {fleet-default: gpt-4o-mini, fleet-embed: text-embedding-3-small}}
          claude: {kind: anthropic, base_url: "https://api.anthropic.com/v1", models: {fleet-claude: claude-haiku}}

        """

    @Test func theDefaultModelMustResolve() throws {
        let unknown = try Self.messages("agents: {defaults: {model_name: fleet-defualt}}", extra: Self.providers)
        #expect(unknown == ["groups.demo.config.agents.defaults.model_name: 'fleet-defualt' is neither a gateway model of this group "
                            + "nor in its model_list; PicoClaw would stop with \"model not found in model_list\"; did you mean 'fleet-default'?"])
        let problems = try Self.problems("agents: {defaults: {model_name: nowhere}}")
        #expect(problems.first?.line == 5, "the flow mapping's line")
        #expect(problems.first?.message.hasSuffix("the group has no gateway models and no model_list") == true)
        // The group's own entries count, but may not take a gateway model's name.
        let taken = try Self.messages("model_list: [{model_name: fleet-claude, model: llama3}]", extra: Self.providers)
        #expect(taken.first?.contains("'fleet-claude' is a gateway model of this group") == true)
    }

    @Test func gatewayModelsAreTheGroupsModels() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\n" + Self.providers + """
            groups:
              demo:
                config: {agents: {defaults: {model_name: fleet-claude}}}
              chat:
                models: [fleet-default]
                config: {agents: {defaults: {model_name: fleet-default}}}
              lab:
                runtime: command

            """)
        try fleet.write("prices.yaml", "version: 1\nmodels: {}\n")
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        let groups = Dictionary(uniqueKeysWithValues: loaded.publishGroups.map { ($0.name, $0) })
        #expect(groups["demo"]?.gatewayModels == [GatewayModelEntry(name: "fleet-default", api: .openai),
                                                  GatewayModelEntry(name: "fleet-embed", api: .openai),
                                                  GatewayModelEntry(name: "fleet-claude", api: .anthropic)])
        #expect(groups["chat"]?.gatewayModels == [GatewayModelEntry(name: "fleet-default", api: .openai)])
        #expect(groups["lab"]?.gatewayModels == nil)
        #expect(groups["lab"]?.config == .object([]), "a command runtime's config is its own")
    }

    @Test func suggestions() {
        #expect(PicoClawSchema.suggestion(for: "modle_name", among: ["model_name", "max_tokens"]) == "model_name")
        #expect(PicoClawSchema.suggestion(for: "MaxTokens", among: ["model_name", "max_tokens"]) == "max_tokens")
        #expect(PicoClawSchema.suggestion(for: "zzz", among: ["model_name", "max_tokens"]) == nil)
        #expect(PicoClawSchema.editDistance(Array("kitten".utf8), Array("sitting".utf8)) == 3)
    }
}
