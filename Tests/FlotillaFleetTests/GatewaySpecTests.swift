import FlotillaFleet
import FlotillaProtocol
import Foundation
import Testing

/// `providers:`, `groups.G.models` and `prices.yaml`.
@Suite struct GatewaySpecTests {
    static let providers = """
        version: 1
        providers:
          openai:
            kind: openai
            base_url: https://api.openai.com/v1/
            models: {fleet-default: gpt-4o-mini, fleet-embed: text-embedding-3-small}
          local:
            kind: openai
            base_url: http://127.0.0.1:11434/v1
            models: {llama: "llama3.2:3b"}
          claude:
            kind: anthropic
            base_url: https://api.anthropic.com/v1
            models: {haiku: claude-3-5-haiku-latest}
        groups:
          demo:
            models: [fleet-default, haiku]
          lab: {}

        """

    static let prices = """
        version: 4
        models:
          gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}
          text-embedding-3-small: {input: 0.02, output: 0}
          claude-3-5-haiku-latest: {input: 0.8, output: 4, cached_input: 0.08, cache_write: 1}
        default: {input: 1.000001, output: 3}

        """

    @Test func providersPricesAndGroupModelsBecomeTheGatewaySpec() throws {
        let fleet = try TemporaryFleet(spec: Self.providers)
        try fleet.write("prices.yaml", Self.prices)
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        let gateway = loaded.gateway
        #expect(gateway.providers.map(\.name) == ["openai", "local", "claude"])
        #expect(gateway.providers[0].baseURL == "https://api.openai.com/v1")
        #expect(gateway.providers[0].models == [ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini"),
                                                ModelRoute(name: "fleet-embed", upstream: "text-embedding-3-small")])
        #expect(gateway.providers[2].kind == .anthropic)
        #expect(gateway.groupModels == ["demo": ["fleet-default", "haiku"]])
        let prices = try #require(gateway.prices)
        #expect(prices.version == 4)
        #expect(prices.models["gpt-4o-mini"] == ModelPrice(inputMicros: 150_000, outputMicros: 600_000, cachedInputMicros: 75_000))
        #expect(prices.models["claude-3-5-haiku-latest"] == ModelPrice(inputMicros: 800_000, outputMicros: 4_000_000,
                                                                         cachedInputMicros: 80_000, cacheWriteMicros: 1_000_000))
        #expect(prices.defaultPrice == ModelPrice(inputMicros: 1_000_001, outputMicros: 3_000_000))
        #expect(loaded.publishRequest(dryRun: true).gateway == gateway)
        #expect(loaded.warnings.isEmpty)
    }

    @Test func unpricedModelsAndAMissingPriceFileAreWarnings() throws {
        let fleet = try TemporaryFleet(spec: Self.providers)
        #expect(try FleetSpecLoader(directory: fleet.directory).load().warnings.contains { $0.contains("prices.yaml: missing") })
        try fleet.write("prices.yaml", "version: 1\nmodels:\n  gpt-4o-mini: {input: 0.15, output: 0.6}\n")
        let warnings = try FleetSpecLoader(directory: fleet.directory).load().warnings
        #expect(warnings.count == 3)
        #expect(warnings.contains { $0.contains("'llama3.2:3b'") && $0.contains("model_not_priced") })
    }

    @Test func theExampleFleetPricesEveryModel() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fleet").path
        let loaded = try FleetSpecLoader(directory: example).load()
        #expect(loaded.gateway.providers.map(\.name) == ["openai"])
        #expect(loaded.gateway.providers[0].kind == .openai)
        #expect(loaded.warnings.isEmpty)
        let prices = try #require(loaded.gateway.prices)
        for model in loaded.gateway.providers.flatMap(\.models) { #expect(prices.price(of: model.upstream) != nil) }
    }

    static func problems(_ spec: String, prices: String? = nil) throws -> [String] {
        let fleet = try TemporaryFleet(spec: spec)
        if let prices { try fleet.write("prices.yaml", prices) }
        do {
            _ = try FleetSpecLoader(directory: fleet.directory).load()
            return []
        } catch {
            return error.problems.map { "\($0.line.map(String.init) ?? "-"): \($0.message)" }
        }
    }

    @Test(arguments: [
        ("providers:\n  openai:\n    base_url: https://a.example/v1\n    models: {m: u}\n", "3: providers.openai.kind: required: openai or anthropic"),
        ("providers:\n  openai:\n    kind: gemini\n    base_url: https://a.example/v1\n    models: {m: u}\n",
         "4: providers.openai.kind: unknown kind 'gemini' (expected one of: openai, anthropic)"),
        ("providers:\n  openai:\n    kind: openai\n    base_url: http://api.example.com/v1\n    models: {m: u}\n",
         "5: providers.openai.base_url: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https"),
        ("providers:\n  openai:\n    kind: openai\n    base_url: http://127.evil.example/v1\n    models: {m: u}\n",
         "5: providers.openai.base_url: plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https"),
        ("providers:\n  openai:\n    kind: openai\n    base_url: https://key:secret@a.example/v1\n    models: {m: u}\n",
         "5: providers.openai.base_url: must not contain a user name or password (keys go in the vault)"),
        ("providers:\n  openai:\n    kind: openai\n    base_url: https://a.example/v1\n    api_key: sk-123\n    models: {m: u}\n",
         "6: providers.openai.api_key: unknown key 'api_key' (expected one of: kind, base_url, models)"),
        ("providers:\n  openai:\n    kind: openai\n    base_url: https://a.example/v1\n    models: {}\n",
         "6: providers.openai.models: a provider needs at least one model"),
        ("providers:\n  a:\n    kind: openai\n    base_url: https://a.example\n    models: {m: u}\n  b:\n    kind: openai\n    base_url: https://b.example\n    models: {m: v}\n",
         "7: providers.b.models.m: model 'm' is already served by provider 'a'"),
        ("providers:\n  a:\n    kind: openai\n    base_url: https://a.example\n    models: {'bad name': u}\n",
         "6: providers.a.models.bad name: invalid model name 'bad name' (1-128 of letters, digits, '.', '_', ':', '/', '-')"),
        ("providers:\n  Big:\n    kind: openai\n    base_url: https://a.example\n    models: {m: u}\n",
         "3: providers.Big: invalid provider name 'Big' (1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen)"),
    ])
    func providerProblemsNameTheirLine(provider: String, problem: String) throws {
        let spec = "version: 1\n" + provider + "groups:\n  demo: {}\n"
        #expect(try Self.problems(spec) == [problem])
    }

    @Test func groupModelsMustBeDeclared() throws {
        let spec = Self.providers.replacingOccurrences(of: "models: [fleet-default, haiku]", with: "models: [fleet-default, gpt-4o, fleet-default]")
        #expect(try Self.problems(spec) == [
            "17: groups.demo.models[2]: 'fleet-default' is listed twice",
            "17: groups.demo.models[1]: unknown model 'gpt-4o' (declared: fleet-default, fleet-embed, llama, haiku)",
        ])
    }

    @Test(arguments: [
        ("models: {m: {input: 0.1, output: 0.2}}\n", "1: version: required: the price table's version, raised whenever a price changes"),
        ("version: 0\nmodels: {}\n", "1: version: must be at least 1"),
        ("version: 1\nmodels:\n  m: {input: -1, output: 1}\n",
         "3: models.m.input: expected a price in USD per million tokens, like 0.15 (at most 6 decimals, not negative)"),
        ("version: 1\nmodels:\n  m: {input: 0.0000001, output: 1}\n",
         "3: models.m.input: expected a price in USD per million tokens, like 0.15 (at most 6 decimals, not negative)"),
        ("version: 1\nmodels:\n  m: {input: 50000, output: 1}\n",
         "3: models.m.input: over 10000 USD per million tokens; prices are per million tokens, not per token"),
        ("version: 1\nmodels:\n  m: {input: 1}\n", "3: models.m.output: required (USD per million tokens)"),
        ("version: 1\nmodels:\n  m: {input: 1, output: 1, currency: EUR}\n",
         "3: models.m.currency: unknown key 'currency' (expected one of: input, output, cached_input, cache_write, max_output)"),
        ("version: 1\nmodels:\n  m: {input: \"0.1\", output: 1}\n",
         "3: models.m.input: expected a price in USD per million tokens, like 0.15 (at most 6 decimals, not negative)"),
    ])
    func priceProblemsNameTheirLine(prices: String, problem: String) throws {
        #expect(try Self.problems("version: 1\ngroups:\n  demo: {}\n", prices: prices) == [problem])
    }

    @Test(arguments: [("0", 0), ("3", 3_000_000), ("0.15", 150_000), ("0.075", 75_000), ("12.345678", 12_345_678)] as [(String, Int64)])
    func pricesAreExactMillionths(text: String, micros: Int64) {
        #expect(PriceFile.micros(text) == micros)
    }
}
