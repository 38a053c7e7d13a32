import AsyncHTTPClient
import FlotillaCoordinator
import FlotillaProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// `flotilla bench gateway`: the cost of the gateway, measured against its own baseline in the
/// same run. The same fast fake provider is called directly (plain HTTP on loopback, the floor)
/// and through the coordinator's gateway (TLS, node key or mutual TLS, routing, key vault, usage
/// record committed before the answer), first one call at a time for latency, then with many
/// connections for throughput; direct and gateway rounds alternate so machine noise hits both.
/// Every acknowledged gateway call must have its usage row.
///
/// Two floors are measured in the same latency rounds, to split what the gateway adds: a no-op
/// request (`/healthz`) on the gateway's own listener with the same TLS (the cost of the extra
/// hop), and a page write with its fsync in the data directory (the cost of the durable record
/// every call waits for); and the same call to the provider through AsyncHTTPClient, the client
/// the gateway forwards with. The gateway's own times per call (to the provider's first byte, to
/// the answer complete) come from the usage rows of the latency rounds.
struct GatewayBenchmark {
    enum Auth: String, CaseIterable, Sendable {
        case key
        case mtls
    }

    /// One thing measured: its latencies one call at a time and its throughput.
    struct Side: Sendable {
        var name: String
        var latency = ConnectionResult()
        var throughput = ConnectionResult()
        var throughputSeconds = 0.0
        var requestsPerSecond: Double { throughputSeconds > 0 ? Double(throughput.acknowledged) / throughputSeconds : 0 }
    }

    struct Report: Sendable {
        /// Direct to the provider, through the gateway, and (with `budgets`) through the gateway
        /// with budgets and rate limits on.
        var sides: [Side]
        /// Which of `sides` is the gateway with budgets, and the translated call.
        var budgetsSide: Int?
        var translatedSide: Int?
        var concurrency: Int
        var acknowledged: Int
        var stored: Int
        var failed: Int
        /// A no-op request on the gateway's listener, same TLS, one at a time.
        var listenerFloor = ConnectionResult()
        /// A 4 KiB write with its fsync in the data directory.
        var fsyncFloor = ConnectionResult()
        /// The same call to the provider through AsyncHTTPClient, one at a time.
        var upstreamClientFloor = ConnectionResult()
        /// From the gateway's usage rows of its latency rounds: arrival to the provider's first
        /// byte, and arrival to the answer complete before its record commits, ms, sorted.
        var gatewayFirstByteMs: [Double] = []
        var gatewayCompleteMs: [Double] = []
    }

    static let providerKey = "sk-bench-" + Secrets.shortID()

    let concurrency: Int
    let seconds: Double
    let auth: Auth
    /// Also measure the gateway with budgets and rate limits on (limits far above the load).
    let budgets: Bool
    /// Also measure the same call sent as an Anthropic Messages call, which the gateway
    /// translates to the OpenAI-kind provider and back (APITranslation).
    var translate = false

    /// What one side sends where, and the gateway configuration it needs (published before each
    /// of its rounds).
    private struct Plan {
        var target: Target
        var gateway: GatewaySpec?
    }

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
        let plain = Self.spec(providerURL: provider.url)
        let node = try await setUp(connection: connection, spec: plain)

        let group = MultiThreadedEventLoopGroup.singleton
        let direct = try Self.target(url: provider.url, path: "/v1/chat/completions", authorization: "Bearer " + Self.providerKey,
                                     body: Self.chatBody(model: "gpt-4o-mini"), tls: nil)
        let caPEM = connection.caPEM ?? ""
        let gatewayTLS: @Sendable (Int) throws -> NIOSSLContext = { [auth] _ in
            auth == .mtls ? try node.tlsContext(caPEM: caPEM) : try Self.serverOnlyTLS(caPEM: caPEM)
        }
        let gateway = try Self.target(url: connection.serverURL, path: "/v1/chat/completions",
                                      authorization: auth == .key ? "Bearer " + (node.gatewayKey ?? "") : nil,
                                      body: Self.chatBody(model: "fleet-default"), tls: gatewayTLS)
        let floor = try Self.target(url: connection.serverURL, method: "GET", path: "/healthz", authorization: nil, body: "", tls: gatewayTLS)
        let probe = FsyncProbe(directory: temp)
        let upstreamClient = UpstreamClientProbe(url: provider.url + "/v1/chat/completions", authorization: "Bearer " + Self.providerKey,
                                                 body: Self.chatBody(model: "gpt-4o-mini"))
        var plans = [Plan(target: direct, gateway: nil), Plan(target: gateway, gateway: plain)]
        var names = ["direct to provider", "through gateway (\(auth.rawValue), metered)"]
        if budgets {
            plans.append(Plan(target: gateway, gateway: Self.spec(providerURL: provider.url, withBudgets: true)))
            names.append("+ budgets and rate limits")
        }
        if translate {
            // The same small call as an Anthropic Messages body (its fields mean the same in both APIs).
            guard let parsed = URL(string: connection.serverURL), let host = parsed.host, let port = parsed.port else {
                throw CLIError("cannot parse \(connection.serverURL)")
            }
            var headers = [("anthropic-version", "2023-06-01")]
            if auth == .key { headers.append(("x-api-key", node.gatewayKey ?? "")) }
            let messages = Target(host: host, port: port, request: KeepAliveLoad.request(
                method: "POST", path: "/v1/messages", host: host, headers: headers, body: ByteBuffer(string: Self.chatBody(model: "fleet-default"))), tls: gatewayTLS)
            plans.append(Plan(target: messages, gateway: plain))
            names.append("translated (Anthropic call, OpenAI provider)")
        }
        var report = Report(sides: names.map { Side(name: $0) }, concurrency: concurrency, acknowledged: 0, stored: 0, failed: 0)
        report.budgetsSide = budgets ? 2 : nil
        report.translatedSide = translate ? names.count - 1 : nil
        let store = try SQLiteStore(path: DataDirectory(temp).database)
        let storedBefore = try store.answeredUsageRecords()

        func publish(_ spec: GatewaySpec?) async throws {
            guard let spec else { return }
            _ = try await AdminClient.with(connection) { client in
                try await client.post("/admin/v1/releases", body: PublishRequest(dryRun: false, groups: [], gateway: spec), as: PublishResponse.self)
            }
        }
        func count(_ plan: Plan, _ result: ConnectionResult) {
            guard plan.target.isGateway else { return }
            report.acknowledged += result.acknowledged
            report.failed += result.failed
        }

        progress("warming up...")
        for plan in plans {
            try await publish(plan.gateway)
            let warm = try await plan.target.drive(group: group, connections: 4, seconds: 1)
            guard warm.acknowledged > 0 else { throw CLIError("warm-up calls failed: \(warm.failed) refused") }
            count(plan, warm)
        }
        let rounds = 4
        progress("latency: one call at a time, \(rounds) alternating rounds of \(String(format: "%.1f", seconds / Double(rounds))) s each side...")
        var gatewayWindows: [(from: Date, to: Date)] = []
        for _ in 0..<rounds {
            for (index, plan) in plans.enumerated() {
                try await publish(plan.gateway)
                let from = Date()
                let result = try await plan.target.drive(group: group, connections: 1, seconds: seconds / Double(rounds))
                if index == 1 { gatewayWindows.append((from, Date())) }
                report.sides[index].latency.merge(result)
                count(plan, result)
            }
            report.listenerFloor.merge(try await floor.drive(group: group, connections: 1, seconds: seconds / Double(rounds)))
            report.upstreamClientFloor.merge(try await upstreamClient.measure(seconds: seconds / Double(rounds)))
            report.fsyncFloor.latenciesMicros += try probe.measure(samples: 250)
        }
        // The sides take turns in the order A B C, C B A, A B C, C B A: a drift over the run (the
        // usage table growing, the WAL checkpointing, a neighbour's load) weighs on each side
        // alike instead of always on the one that runs last.
        let throughputRounds = 4
        progress("throughput: \(concurrency) connections, \(throughputRounds) alternating rounds of \(String(format: "%.1f", seconds / Double(throughputRounds))) s each side...")
        for round in 0..<throughputRounds {
            let order = round % 2 == 0 ? Array(plans.indices) : plans.indices.reversed()
            for index in order {
                let plan = plans[index]
                try await publish(plan.gateway)
                let started = Date()
                let result = try await plan.target.drive(group: group, connections: concurrency, seconds: seconds / Double(throughputRounds))
                report.sides[index].throughput.merge(result)
                report.sides[index].throughputSeconds += Date().timeIntervalSince(started)
                count(plan, result)
            }
        }
        for index in report.sides.indices { report.sides[index].latency.latenciesMicros.sort() }
        for floor in [\Report.listenerFloor, \.fsyncFloor, \.upstreamClientFloor] { report[keyPath: floor].latenciesMicros.sort() }
        // Records are durable before their answers; give the queue a moment for calls whose
        // answers were still in flight at a round's deadline, then count.
        try await Task.sleep(for: .milliseconds(500))
        report.stored = try store.answeredUsageRecords() - storedBefore
        let timings = try gatewayWindows.flatMap { try store.usageTimings(from: $0.from, to: $0.to) }
        report.gatewayFirstByteMs = timings.compactMap(\.ttfbMs).sorted()
        report.gatewayCompleteMs = timings.map(\.latencyMs).sorted()
        return report
    }

    /// The benchmark's gateway configuration: one provider and model; with budgets and limits
    /// on every scope, far above what the run can spend or send.
    static func spec(providerURL: String, withBudgets: Bool = false) -> GatewaySpec {
        var spec = GatewaySpec(
            providers: [ProviderSpec(name: "bench", kind: .openai, baseURL: providerURL + "/v1",
                                     models: [ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini")])],
            prices: PriceTable(version: 1, models: ["gpt-4o-mini": ModelPrice(inputMicros: 150_000, outputMicros: 600_000)])
        )
        guard withBudgets else { return spec }
        let budget = BudgetLimit(dailyNanos: 1_000_000 * 1_000_000_000, monthlyNanos: 10_000_000 * 1_000_000_000)
        spec.budgets = BudgetSpec(fleet: budget, groups: ["bench": budget], nodes: ["default": budget])
        let limit = RateLimit(requestsPerMinute: 100_000_000, tokensPerMinute: 1_000_000_000)
        spec.limits = LimitSpec(fleet: limit, groups: ["bench": limit],
                                nodes: ["default": RateLimit(requestsPerMinute: 100_000_000, tokensPerMinute: 1_000_000_000, maxInFlight: 10_000)])
        return spec
    }

    /// Publishes `spec`, sets the provider key, and enrolls one node (which gets its gateway key
    /// at enrollment).
    func setUp(connection: AdminConnection, spec: GatewaySpec) async throws -> SimulatedNode {
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

    static func serverOnlyTLS(caPEM: String) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        return try NIOSSLContext(configuration: tls)
    }

    /// One side of the comparison: where to send the same small chat completion.
    struct Target: Sendable {
        var host: String
        var port: Int
        var request: ByteBuffer
        var tls: (@Sendable (Int) throws -> NIOSSLContext)?
        var isGateway: Bool { tls != nil }

        func drive(group: any EventLoopGroup, connections: Int, seconds: Double) async throws -> ConnectionResult {
            try await KeepAliveLoad.drive(group: group, connections: connections, host: host, port: port, tls: tls, request: request, duration: seconds)
        }
    }

    /// The small chat completion every side sends.
    static func chatBody(model: String) -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"How warm is the board?"}],"max_tokens":8}"#
    }

    static func target(url: String, method: String = "POST", path: String, authorization: String?, body: String,
                       tls: (@Sendable (Int) throws -> NIOSSLContext)?) throws -> Target {
        guard let parsed = URL(string: url), let host = parsed.host, let port = parsed.port else { throw CLIError("cannot parse \(url)") }
        let headers = authorization.map { [("Authorization", $0)] } ?? []
        return Target(host: host, port: port, request: KeepAliveLoad.request(method: method, path: path, host: host, headers: headers, body: ByteBuffer(string: body)), tls: tls)
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
        process.arguments = ["bench", "fake-provider", "--listen", "127.0.0.1:0", "--no-request-log"]
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

    /// The process id (for the CPU split).
    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
