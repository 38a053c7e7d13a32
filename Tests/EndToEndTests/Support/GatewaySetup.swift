import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// A test fleet with the gateway wired up: the fake provider running as its own process, a fleet
/// spec with an OpenAI- and an Anthropic-kind provider applied with `flotilla apply`, both keys set
/// with `flotilla secret set` (on standard input), and one node enrolled with the real agent.
struct GatewaySetup {
    static let providerKey = "sk-e2e-ProviderKeyThatMustNeverLeak-7f3a9c"

    let fleet: TestFleet
    let providerURL: String
    /// The enrolled node's state directory (`gateway.key`, `ca.pem`, `cert.pem`, `key.pem`).
    let state: String
    let bundle: String

    /// Sets up the gateway; `extraSpec` is added to fleet.yaml's top level (budgets, limits).
    static func prepare(_ fleet: TestFleet, extraModels: String = "", extraSpec: String = "") throws -> GatewaySetup {
        let url = try startProvider(fleet)
        let spec = fleet.root + "/spec"
        try FileManager.default.createDirectory(atPath: spec, withIntermediateDirectories: true)
        try writeSpec(fleet, providerURL: url, extraModels: extraModels, extraSpec: extraSpec)
        try """
            version: 1
            models:
              gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}
              text-embedding-3-small: {input: 0.02, output: 0}
              claude-3-5-haiku-latest: {input: 0.80, output: 4.00}
              fake-slow: {input: 1, output: 1}

            """.write(toFile: spec + "/prices.yaml", atomically: true, encoding: .utf8)
        let applied = try fleet.cli(["apply", spec, "--yes"])
        guard applied.status == 0, applied.stdout.contains("Gateway configuration updated.") else {
            throw TestFailure("apply failed: \(applied.stdout) \(applied.stderr)")
        }
        for name in ["openai", "claude"] {
            let set = try fleet.cli(["secret", "set", name], stdin: providerKey + "\n")
            guard set.status == 0 else { throw TestFailure("secret set \(name) failed: \(set.stderr)") }
        }
        let bundle = try fleet.provision(group: "demo")
        let (state, status, stderr) = try fleet.enroll(bundle: bundle, name: "node-1")
        guard status == 0 else { throw TestFailure("enroll failed: \(stderr)") }
        return GatewaySetup(fleet: fleet, providerURL: url, state: state, bundle: bundle)
    }

    /// Starts the fake provider (`flotilla bench fake-provider`, expecting `providerKey`) and
    /// returns its URL.
    static func startProvider(_ fleet: TestFleet) throws -> String {
        try startFakeProvider(fleet, label: "provider", key: providerKey)
    }

    /// A fake provider expecting `key` (nil: any key or none, as a model server on a board); returns its URL.
    static func startFakeProvider(_ fleet: TestFleet, label: String, key: String?) throws -> String {
        let provider = try fleet.startHelper(["bench", "fake-provider"], label: label,
                                             environment: key.map { ["FLOTILLA_FAKE_PROVIDER_KEY": $0] } ?? [:])
        let deadline = Date().addingTimeInterval(30)
        while true {
            if let url = provider.stdout.split(separator: "\n").first.flatMap({ $0.split(separator: " ").last }).map(String.init) { return url }
            guard provider.isRunning, Date() < deadline else { throw TestFailure("fake provider did not start: \(provider.stderr)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Writes the test fleet.yaml (a stand-in for editing it) under `fleet.root/spec`.
    static func writeSpec(_ fleet: TestFleet, providerURL url: String, extraModels: String = "", extraSpec: String = "",
                          groups: String = "groups: {}") throws {
        try """
            version: 1
            providers:
              openai:
                kind: openai
                base_url: \(url)/v1
                models: {fleet-default: gpt-4o-mini, fleet-embed: text-embedding-3-small, unpriced: gpt-unpriced, slow: fake-slow\(extraModels)}
              claude:
                kind: anthropic
                base_url: \(url)/v1
                models: {claude: claude-3-5-haiku-latest}
            \(extraSpec)
            \(groups)

            """.write(toFile: fleet.root + "/spec/fleet.yaml", atomically: true, encoding: .utf8)
    }

    /// The project-local Python with the official SDKs (`scripts/test.sh` creates it).
    static var python: String {
        get throws {
            let path = ProcessInfo.processInfo.environment["FLOTILLA_TEST_PYTHON"] ?? Binaries.repositoryRoot + "/.venv-test/bin/python"
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestFailure("no Python with the openai and anthropic SDKs at \(path): run scripts/test.sh, which creates .venv-test")
            }
            return path
        }
    }

    /// Runs a scenario of Tests/Python/gateway_clients.py with the node files in `state` and
    /// returns its JSON lines by step, and its raw output.
    func sdk(_ scenario: String, state: String? = nil) throws -> (steps: [String: [String: Any]], output: String) {
        let result = try ChildProcess.run(
            try Self.python, [Binaries.repositoryRoot + "/Tests/Python/gateway_clients.py", fleet.serverURL, state ?? self.state, scenario],
            logDirectory: fleet.root + "/logs", timeout: 120
        )
        guard result.status == 0 else { throw TestFailure("python \(scenario) failed (\(result.status)): \(result.stdout)\n\(result.stderr)") }
        var steps: [String: [String: Any]] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = object["step"] as? String else {
                throw TestFailure("unexpected output line: \(line)")
            }
            steps[step] = object
        }
        return (steps, result.stdout + result.stderr)
    }

    /// What the fake provider received (never the key): one dictionary per request.
    func providerRequests() async throws -> [[String: Any]] {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response = try await client.execute(HTTPClientRequest(url: providerURL + "/_requests"), timeout: .seconds(10))
            let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
            try await client.shutdown()
            return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Every file under `directory` (recursively) that contains `needle`.
    static func files(under directory: String, containing needle: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var found: [String] = []
        for case let relative as String in walker {
            let path = directory + "/" + relative
            if let data = FileManager.default.contents(atPath: path), data.range(of: Data(needle.utf8)) != nil { found.append(path) }
        }
        return found
    }
}
