import AsyncHTTPClient
import FlotillaCoordinator
import FlotillaProtocol
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// `flotilla bench failover --database URL`: two coordinators on a scratch PostgreSQL database,
/// simulated nodes heartbeating and calling the gateway once a second through the first; then
/// `kill -9` of the first. Measures, per node, the time from the kill to its first heartbeat
/// the survivor acknowledged and to its first gateway call the survivor answered 200, and when
/// the survivor's admin API first listed every node online.
///
/// The nodes follow the agent's failover rule (Sources/FlotillaNode/CoordinatorList.swift): on
/// a connect, TLS or timeout failure or a 5xx they wait a jitter of up to 600 ms and try the
/// next coordinator at once; the real agents' figure comes from
/// Tests/EndToEndTests/MultiCoordinatorEndToEndTests.swift.
struct FailoverBenchmark {
    struct Report {
        var nodes: Int
        /// Seconds from the kill, per node, sorted.
        var heartbeat: [Double]
        var gateway: [Double]
        /// Seconds from the kill until the survivor listed every node online.
        var allOnline: Double?
    }

    let nodes: Int
    let server: DatabaseURL
    let passwordFile: String?

    func run(progress: (String) -> Void) async throws -> Report {
        let provider = try FakeProviderProcess(key: GatewayBenchmark.providerKey)
        defer { provider.stop() }
        return try await PostgresStorageProbe.withScratchDatabase(server: server, passwordFile: passwordFile) { url, probe in
            let fleet = try BenchFleet(name: "PostgreSQL, 2 coordinators", count: 2, database: url, passwordFile: passwordFile) { _ in probe }
            defer { fleet.stop() }
            progress("coordinators \(fleet.serverURLs.joined(separator: ", ")); enrolling \(nodes) simulated nodes...")
            let setup = GatewayBenchmark(concurrency: 1, seconds: 2, auth: .key, budgets: false)
            _ = try await setup.setUp(connection: fleet.connection, spec: GatewayBenchmark.spec(providerURL: provider.url))
            let identities = try await enroll(fleet)
            let caPEM = fleet.connection.caPEM ?? ""
            let killedAt = Clock()
            let urls = fleet.serverURLs
            let report = try await withThrowingTaskGroup(of: (Double?, Double?).self) { tasks in
                for node in identities {
                    tasks.addTask { try await Self.follow(node, urls: urls, caPEM: caPEM, killedAt: killedAt) }
                }
                progress("all nodes on the first coordinator for 3 s, then kill -9 of it...")
                // The kill lands just after a whole second: `lastSeen` has whole seconds, so any
                // heartbeat stamped with the kill's second came after it.
                let now = Date().timeIntervalSince1970
                try await Task.sleep(for: .seconds(3 + (now.rounded(.up) - now)))
                kill(fleet.coordinators[0].pid, SIGKILL)
                killedAt.set(Date())
                var survivor = fleet.connection
                survivor.serverURL = fleet.serverURLs[1]
                let allOnline = try await Self.waitForAllOnline(survivor, nodes: identities.count, killedAt: killedAt)
                var heartbeat: [Double] = []
                var gateway: [Double] = []
                for try await (beat, call) in tasks {
                    if let beat { heartbeat.append(beat) }
                    if let call { gateway.append(call) }
                }
                return Report(nodes: identities.count, heartbeat: heartbeat.sorted(), gateway: gateway.sorted(), allOnline: allOnline)
            }
            return report
        }
    }

    private func enroll(_ fleet: BenchFleet) async throws -> [SimulatedNode] {
        let token = try await AdminClient.with(fleet.connection) { client in
            try await client.post("/admin/v1/tokens", body: CreateTokenRequest(group: "bench", uses: nodes, ttlSeconds: 600, requireApproval: false),
                                  as: CreatedToken.self)
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try HeartbeatBenchmark.httpConfiguration(caPEM: fleet.connection.caPEM))
        defer { _ = http.shutdown() }
        var enrolled: [SimulatedNode] = []
        for index in 0..<nodes {
            enrolled.append(try await SimulatedNode.enroll(name: "failover-\(index)", token: token.token, serverURL: fleet.connection.serverURL, http: http))
        }
        return enrolled
    }

    /// One node: a heartbeat and a gateway call a second to its current coordinator, moving on
    /// to the next after a failure; returns its two times after the kill (nil: never, in 30 s).
    private static func follow(_ node: SimulatedNode, urls: [String], caPEM: String, killedAt: Clock) async throws -> (Double?, Double?) {
        var configuration = HTTPClient.Configuration(tlsConfiguration: try node.tlsConfiguration(caPEM: caPEM))
        // AsyncHTTPClient retries a refused connect until this timeout where the agent's libcurl
        // gives up at once: the figures here are that much above a real board's.
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(5))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = http.shutdown() }
        let heartbeat = ByteBuffer(bytes: try JSONEncoder().encode(HeartbeatBenchmark.sampleHeartbeat()))
        let call = ByteBuffer(string: GatewayBenchmark.chatBody(model: "fleet-default"))
        var current = 0
        var beatAfter: Double?
        var callAfter: Double?
        while beatAfter == nil || callAfter == nil {
            if let killed = killedAt.value, Date().timeIntervalSince(killed) > 30 { break }
            var failed = false
            for (path, body) in [("/v1/heartbeat", heartbeat), ("/v1/chat/completions", call)] {
                var request = HTTPClientRequest(url: urls[current] + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if path.hasSuffix("completions") { request.headers.add(name: "Authorization", value: "Bearer " + (node.gatewayKey ?? "")) }
                request.body = .bytes(body)
                let status = try? await http.execute(request, timeout: .seconds(5)).status
                guard let status, status.code < 500 else {
                    try await Task.sleep(for: .milliseconds(Int64.random(in: 0...600)))
                    current = (current + 1) % urls.count
                    failed = true
                    break
                }
                if let killed = killedAt.value, current != 0, status.code == 200 {
                    if path.hasSuffix("heartbeat") { beatAfter = beatAfter ?? Date().timeIntervalSince(killed) }
                    else { callAfter = callAfter ?? Date().timeIntervalSince(killed) }
                }
            }
            // The next coordinator is tried at once after a failure, as the agent does.
            if !failed { try await Task.sleep(for: .seconds(1)) }
        }
        return (beatAfter, callAfter)
    }

    private static func waitForAllOnline(_ survivor: AdminConnection, nodes: Int, killedAt: Clock) async throws -> Double? {
        guard let killed = killedAt.value else { return nil }
        let killedSecond = Date(timeIntervalSince1970: killed.timeIntervalSince1970.rounded(.down))
        while Date().timeIntervalSince(killed) < 30 {
            let views = try? await AdminClient.with(survivor) { client in try await client.get("/admin/v1/nodes", as: [NodeView].self) }
            let online = views?.filter { view in
                view.status == .online && (view.lastSeen.flatMap(Timestamps.parse) ?? .distantPast) >= killedSecond
            }.count ?? 0
            if online >= nodes { return Date().timeIntervalSince(killed) }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// When the kill happened, shared with the nodes' tasks.
    final class Clock: Sendable {
        private let stored = Mutex<Date?>(nil)
        var value: Date? { stored.withLock { $0 } }
        func set(_ date: Date) { stored.withLock { $0 = date } }
    }
}
