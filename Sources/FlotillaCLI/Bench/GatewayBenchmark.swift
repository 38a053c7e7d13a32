import AsyncHTTPClient
import FlotillaCoordinator
import FlotillaProtocol
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// `flotilla bench gateway`: the cost of the gateway, measured against its own baseline in the
/// same run. The same fast fake provider is called directly (plain HTTP on loopback, the floor)
/// and through the coordinator's gateway (TLS, node key or mutual TLS, routing, key vault, usage
/// record committed before the answer), first one call at a time for latency, then with many
/// connections for throughput; direct and gateway rounds alternate so machine noise hits both.
/// Every acknowledged gateway call must have its usage row.
struct GatewayBenchmark {
    enum Auth: String, CaseIterable, Sendable {
        case key
        case mtls
    }

    struct Side: Sendable {
        var latency = ConnectionResult()
        var throughput = ConnectionResult()
        var throughputSeconds = 0.0
        var requestsPerSecond: Double { throughputSeconds > 0 ? Double(throughput.acknowledged) / throughputSeconds : 0 }
    }

    struct Report: Sendable {
        var direct: Side
        var gateway: Side
        var concurrency: Int
        var acknowledged: Int
        var stored: Int
        var failed: Int
    }

    static let providerKey = "sk-bench-" + Secrets.shortID()

    let concurrency: Int
    let seconds: Double
    let auth: Auth

    func run(progress: (String) -> Void) async throws -> Report {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-gateway-\(getpid())").path
        let provider = try FakeProviderProcess(key: Self.providerKey)
        defer { provider.stop() }
        let coordinator = try CoordinatorProcess(dataDirectory: temp)
        defer {
            coordinator.stop()
            try? FileManager.default.removeItem(atPath: temp)
        }
        let connection = try AdminConnection.resolve(server: nil, token: nil, caFile: nil, dataDir: temp, defaultDataDir: temp)
        progress("provider \(provider.url); coordinator \(connection.serverURL)")
        let node = try await setUp(connection: connection, providerURL: provider.url)

        let group = MultiThreadedEventLoopGroup.singleton
        let direct = try Self.target(url: provider.url, path: "/v1/chat/completions", authorization: "Bearer " + Self.providerKey,
                                     model: "gpt-4o-mini", tls: nil)
        let caPEM = connection.caPEM ?? ""
        let gatewayTLS: (Int) throws -> NIOSSLContext = { [auth] _ in
            auth == .mtls ? try node.tlsContext(caPEM: caPEM) : try Self.serverOnlyTLS(caPEM: caPEM)
        }
        let gateway = try Self.target(url: connection.serverURL, path: "/v1/chat/completions",
                                      authorization: auth == .key ? "Bearer " + (node.gatewayKey ?? "") : nil,
                                      model: "fleet-default", tls: gatewayTLS)
        let storedBefore = try Self.storedUsage(temp)

        progress("warming up...")
        var acknowledged = 0
        var failed = 0
        for target in [direct, gateway] {
            let warm = try await target.drive(group: group, connections: 4, seconds: 1)
            guard warm.acknowledged > 0 else { throw CLIError("warm-up calls failed: \(warm.failed) refused") }
            if target.isGateway { acknowledged += warm.acknowledged }
        }

        var report = Report(direct: Side(), gateway: Side(), concurrency: concurrency, acknowledged: 0, stored: 0, failed: 0)
        let rounds = 4
        progress("latency: one call at a time, \(rounds) alternating rounds of \(String(format: "%.1f", seconds / Double(rounds))) s each side...")
        for _ in 0..<rounds {
            for target in [direct, gateway] {
                let result = try await target.drive(group: group, connections: 1, seconds: seconds / Double(rounds))
                if target.isGateway {
                    report.gateway.latency.merge(result)
                    acknowledged += result.acknowledged
                    failed += result.failed
                } else {
                    report.direct.latency.merge(result)
                }
            }
        }
        progress("throughput: \(concurrency) connections, 2 alternating rounds of \(String(format: "%.1f", seconds / 2)) s each side...")
        for _ in 0..<2 {
            for target in [direct, gateway] {
                let started = Date()
                let result = try await target.drive(group: group, connections: concurrency, seconds: seconds / 2)
                let elapsed = Date().timeIntervalSince(started)
                if target.isGateway {
                    report.gateway.throughput.merge(result)
                    report.gateway.throughputSeconds += elapsed
                    acknowledged += result.acknowledged
                    failed += result.failed
                } else {
                    report.direct.throughput.merge(result)
                    report.direct.throughputSeconds += elapsed
                }
            }
        }
        report.direct.latency.latenciesMicros.sort()
        report.gateway.latency.latenciesMicros.sort()
        report.acknowledged = acknowledged
        report.failed = failed
        // Records are durable before their answers; give the queue a moment for calls whose
        // answers were still in flight at a round's deadline, then count.
        try await Task.sleep(for: .milliseconds(500))
        report.stored = try Self.storedUsage(temp) - storedBefore
        return report
    }

    /// Publishes a gateway configuration pointing at the provider, sets its key, and enrolls one
    /// node (which gets its gateway key at enrollment).
    private func setUp(connection: AdminConnection, providerURL: String) async throws -> SimulatedNode {
        let spec = GatewaySpec(
            providers: [ProviderSpec(name: "bench", kind: .openai, baseURL: providerURL + "/v1",
                                     models: [ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini")])],
            prices: PriceTable(version: 1, models: ["gpt-4o-mini": ModelPrice(inputMicros: 150_000, outputMicros: 600_000)])
        )
        return try await AdminClient.with(connection) { client in
            _ = try await client.post("/admin/v1/releases", body: PublishRequest(dryRun: false, groups: [], gateway: spec), as: PublishResponse.self)
            _ = try await client.put("/admin/v1/secrets/bench", body: SetSecretRequest(value: Self.providerKey), as: SecretInfo.self)
            let token = try await client.post("/admin/v1/tokens", body: CreateTokenRequest(group: "bench", uses: 1, ttlSeconds: 600, requireApproval: false),
                                              as: CreatedToken.self)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try HeartbeatBenchmark.httpConfiguration(caPEM: connection.caPEM))
            do {
                let node = try await SimulatedNode.enroll(name: "bench-gateway", token: token.token, serverURL: connection.serverURL, http: http)
                try await http.shutdown()
                return node
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    /// Usage rows in the coordinator's database.
    static func storedUsage(_ dataDirectory: String) throws -> Int {
        try Store(path: DataDirectory(dataDirectory).database).totalUsageRecords()
    }

    static func serverOnlyTLS(caPEM: String) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: tls)
    }

    /// One side of the comparison: where to send the same small chat completion.
    struct Target {
        var host: String
        var port: Int
        var request: ByteBuffer
        var tls: ((Int) throws -> NIOSSLContext)?
        var isGateway: Bool { tls != nil }

        func drive(group: any EventLoopGroup, connections: Int, seconds: Double) async throws -> ConnectionResult {
            try await KeepAliveLoad.drive(group: group, connections: connections, host: host, port: port, tls: tls, request: request, duration: seconds)
        }
    }

    static func target(url: String, path: String, authorization: String?, model: String, tls: ((Int) throws -> NIOSSLContext)?) throws -> Target {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { throw CLIError("cannot parse \(url)") }
        let body = ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"How warm is the board?"}],"max_tokens":8}"#)
        let headers = authorization.map { [("Authorization", $0)] } ?? []
        return Target(host: host, port: port, request: KeepAliveLoad.request(path: path, host: host, headers: headers, body: body), tls: tls)
    }
}

extension ConnectionResult {
    /// Adds `other`'s counts and latencies (unsorted).
    mutating func merge(_ other: ConnectionResult) {
        acknowledged += other.acknowledged
        failed += other.failed
        latenciesMicros += other.latenciesMicros
    }
}

/// `flotilla bench fake-provider` as a child process, for the gateway benchmark.
final class FakeProviderProcess {
    private let process = Process()
    let url: String

    init(key: String) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", "fake-provider", "--listen", "127.0.0.1:0"]
        process.environment = ProcessInfo.processInfo.environment.merging(["FLOTILLA_FAKE_PROVIDER_KEY": key]) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CLIError("the fake provider did not start") }
            line.append(chunk)
        }
        guard let first = String(decoding: line, as: UTF8.self).split(separator: "\n").first, let url = first.split(separator: " ").last else {
            throw CLIError("the fake provider did not print its URL")
        }
        self.url = String(url)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
