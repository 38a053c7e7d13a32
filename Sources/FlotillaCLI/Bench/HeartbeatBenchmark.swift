import AsyncHTTPClient
import FlotillaCoordinator
import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Drives a coordinator with many simulated nodes, each on its own mutual-TLS keep-alive
/// connection sending heartbeats back to back, and reports durable heartbeats per second.
struct HeartbeatBenchmark {
    var nodes: Int
    var duration: TimeInterval
    var clientThreads: Int
    var connection: AdminConnection
    /// Opens the counts of what the coordinator stored (nil: stored heartbeats are not counted).
    var probe: (() throws -> any StorageProbe)?
    /// Further coordinators of the same fleet: the nodes are spread over `connection`'s and these.
    var peers: [String] = []
    /// Samples the processes' CPU time; taken just before and after the load.
    var sampleCPU: (() -> CPUSplit)?
    /// With `--kill-after`: when to kill the coordinator during the load, and what to do once
    /// the load has ended, before the database is counted (start it again).
    var crash: (after: TimeInterval, kill: @Sendable () -> Void, restart: () throws -> Void)?

    struct Report {
        var nodes: Int
        var duration: TimeInterval
        var acknowledged: Int
        var failed: Int
        var stored: Int?
        /// Acknowledged heartbeats not in the database, counted node by node (a heartbeat stored
        /// whose answer never arrived cannot hide another node's loss).
        var missing: Int?
        var p50Micros: UInt32
        var p99Micros: UInt32
        /// Where the CPU went while the load ran (with `sampleCPU`), enrollment left out.
        var cpu: CPUSplit?

        var perSecond: Double { Double(acknowledged) / duration }
    }

    func run(progress: (String) -> Void) async throws -> Report {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: try Self.httpConfiguration(caPEM: connection.caPEM)
        )
        let group = MultiThreadedEventLoopGroup(numberOfThreads: clientThreads)
        do {
            let report = try await drive(http: http, group: group, progress: progress)
            try? await http.shutdown()
            try? await group.shutdownGracefully()
            return report
        } catch {
            try? await http.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func drive(http: HTTPClient, group: MultiThreadedEventLoopGroup, progress: (String) -> Void) async throws -> Report {

        progress("enrolling \(nodes) simulated nodes...")
        let created = try await AdminClient.with(connection) { client in
            try await client.post(
                "/admin/v1/tokens",
                body: CreateTokenRequest(group: "bench", uses: nodes, ttlSeconds: 3600, requireApproval: false),
                as: CreatedToken.self
            )
        }
        let prefix = "bench-\(Secrets.shortID().lowercased().filter { $0.isLetter || $0.isNumber })"
        let serverURL = connection.serverURL
        let identities = try await withThrowingTaskGroup(of: SimulatedNode.self) { tasks in
            var enrolled: [SimulatedNode] = []
            var next = 0
            func start() {
                let name = "\(prefix)-\(next)"
                tasks.addTask { try await SimulatedNode.enroll(name: name, token: created.token, serverURL: serverURL, http: http) }
                next += 1
            }
            while next < min(nodes, 32) { start() }
            while let node = try await tasks.next() {
                enrolled.append(node)
                if next < nodes { start() }
            }
            return enrolled
        }

        let servers = try ([connection.serverURL] + peers).map { text in
            guard let url = URL(string: text), let host = url.host, let port = url.port else { throw CLIError("cannot parse coordinator URL \(text)") }
            return (host: host, port: port)
        }
        let body = ByteBuffer(bytes: try JSONEncoder().encode(Self.sampleHeartbeat()))
        var baseline: Int?
        if let probe { baseline = try await probe().totalHeartbeats() }
        progress("driving \(identities.count) mTLS connections for \(Int(duration))s...")
        let cpuBefore = sampleCPU?()
        let started = Date()
        // Node i goes to coordinator i mod N and presents its own certificate.
        let caPEM = created.caPEM
        let seconds = duration
        let shares = servers.indices.map { server in Array(stride(from: server, to: identities.count, by: servers.count)) }
        async let load = withThrowingTaskGroup(of: (Int, ConnectionResult).self) { tasks in
            for (server, share) in shares.enumerated() where !share.isEmpty {
                let (host, port) = servers[server]
                let request = KeepAliveLoad.request(path: "/v1/heartbeat", host: host, body: body)
                let nodes = share.map { identities[$0] }
                tasks.addTask {
                    (server, try await KeepAliveLoad.drive(group: group, connections: nodes.count, host: host, port: port,
                                                           tls: { index in try nodes[index].tlsContext(caPEM: caPEM) },
                                                           request: request, duration: seconds))
                }
            }
            var byServer: [Int: ConnectionResult] = [:]
            for try await (server, result) in tasks { byServer[server] = result }
            return Self.merge(byServer, shares: shares, nodes: identities.count)
        }
        if let crash {
            try await Task.sleep(for: .milliseconds(Int64(crash.after * 1000)))
            progress("kill -9 of the coordinator under load...")
            crash.kill()
        }
        let total = try await load
        let elapsed = Date().timeIntervalSince(started)
        let cpu = sampleCPU.flatMap { sample in cpuBefore?.until(sample()) }
        if let crash {
            progress("starting the coordinator again on the same data directory...")
            try crash.restart()
        }
        var stored: Int?
        var counts: [String: Int]?
        if let probe {
            let opened = try probe()
            stored = try await opened.totalHeartbeats() - (baseline ?? 0)
            counts = try await opened.heartbeatCountsByNodeName()
        }
        let missing = counts.map { counts in
            zip(identities, total.acknowledgedByConnection).reduce(0) { sum, pair in sum + max(0, pair.1 - (counts[pair.0.name] ?? 0)) }
        }
        return Report(
            nodes: identities.count, duration: elapsed, acknowledged: total.acknowledged, failed: total.failed,
            stored: stored, missing: missing, p50Micros: total.percentile(0.5), p99Micros: total.percentile(0.99), cpu: cpu
        )
    }

    /// The coordinators' results as one, `acknowledgedByConnection` back in node order.
    static func merge(_ byServer: [Int: ConnectionResult], shares: [[Int]], nodes: Int) -> ConnectionResult {
        var total = ConnectionResult()
        var byNode = [Int](repeating: 0, count: nodes)
        for (server, result) in byServer {
            total.acknowledged += result.acknowledged
            total.failed += result.failed
            total.latenciesMicros += result.latenciesMicros
            for (slot, node) in shares[server].enumerated() where slot < result.acknowledgedByConnection.count {
                byNode[node] = result.acknowledgedByConnection[slot]
            }
        }
        total.latenciesMicros.sort()
        total.acknowledgedByConnection = byNode
        return total
    }

    static func sampleHeartbeat() -> HeartbeatRequest {
        var h = HeartbeatRequest()
        h.sequence = 1
        h.agentVersion = "bench"
        h.arch = "riscv64"
        h.kernel = "6.6.31"
        h.uptimeSeconds = 86_400
        h.load1m = 0.25
        h.load5m = 0.5
        h.load15m = 0.75
        h.cpuPercent = 12.5
        h.memTotalBytes = 268_435_456
        h.memAvailableBytes = 134_217_728
        h.diskTotalBytes = 31_914_983_424
        h.diskFreeBytes = 20_401_094_656
        h.temperatures = [TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.3)]
        return h
    }

    static func httpConfiguration(caPEM: String?) throws -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caPEM { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))) }
        return HTTPClient.Configuration(tlsConfiguration: tls)
    }
}
