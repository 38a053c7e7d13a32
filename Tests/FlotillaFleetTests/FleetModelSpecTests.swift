import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaFleet

/// `models:`: fleet models served by several provider models in order. Loaded into the gateway
/// spec and the PicoClaw groups' model lists, or refused by `plan` naming the line to fix.
@Suite struct FleetModelSpecTests {
    static let providers = """
        providers:
          openai: {kind: openai, base_url: https://api.openai.com/v1, models: {fleet-default: gpt-4o-mini}}
          anthropic: {kind: anthropic, base_url: https://api.anthropic.com/v1, models: {claude: claude-3-5-haiku-latest}}

        """

    static func spec(_ models: String, groupModels: String = "") -> String {
        "version: 1\n" + providers + "models:\n" + models + "groups:\n  demo:\n    runtime: picoclaw\n" + groupModels
    }

    @Test func aFleetModelsTargetsAreLoadedInOrder() throws {
        let fleet = try TemporaryFleet(spec: Self.spec("""
              fleet-smart:
                targets: [openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest]
                first_byte_timeout: 20s

            """))
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        #expect(loaded.gateway.models == [FleetModel(name: "fleet-smart", targets: [
            ModelTarget(provider: "openai", upstream: "gpt-4o-mini"), ModelTarget(provider: "anthropic", upstream: "claude-3-5-haiku-latest"),
        ], firstByteTimeoutMs: 20_000)])
        // PicoClaw calls it in its first target's API, like any gateway model.
        #expect(loaded.publishGroups.first?.gatewayModels?.last == GatewayModelEntry(name: "fleet-smart", api: .openai))
    }

    @Test(arguments: [
        ("  fleet-x:\n    targets: [mistral/small]\n",
         "models.fleet-x.targets[0]: unknown target 'mistral/small': there is no provider 'mistral' (declared: openai, anthropic)"),
        ("  fleet-x:\n    targets: [gpt-4o-mini]\n",
         "models.fleet-x.targets[0]: 'gpt-4o-mini' is not PROVIDER/MODEL (a provider of providers: and the model id it is asked for)"),
        ("  fleet-x:\n    targets: [openai/gpt-4o-mini, openai/gpt-4o-mini]\n", "models.fleet-x.targets[1]: 'openai/gpt-4o-mini' is listed twice"),
        ("  fleet-default:\n    targets: [openai/gpt-4o]\n", "models.fleet-default: model 'fleet-default' is already served by provider 'openai'"),
        ("  fleet-x: {}\n",
         "models.fleet-x.targets: required: the provider models to try in order, e.g. [openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest]"),
        ("  fleet-x:\n    targets: [openai/gpt-4o-mini]\n    first_byte_timeout: 1h\n", "models.fleet-x.first_byte_timeout: must be between 100ms and 10m"),
    ])
    func aBadFleetModelIsRefusedNamingTheKey(_ models: String, _ message: String) throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec(models))
        #expect(problems.map(\.message).contains(message), "\(problems.map(\.message))")
    }

    @Test func aGroupMayBeAllowedAFleetModel() throws {
        let (_, problems) = try FleetSpecValidationTests.problems(Self.spec("  fleet-smart:\n    targets: [openai/gpt-4o-mini]\n",
                                                                           groupModels: "    models: [fleet-smart, nope]\n"))
        #expect(problems.map(\.message) == ["groups.demo.models[1]: unknown model 'nope' (declared: fleet-default, claude, fleet-smart)"])
    }
}
