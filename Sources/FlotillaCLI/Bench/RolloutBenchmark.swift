import AsyncHTTPClient
import Crypto
import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOPosix
import NIOSSL
import Synchronization

/// Time from `apply` until N simulated nodes have all reported `applied`.
///
/// Each simulated node enrolls through the real endpoint, walks and verifies the root chain from
/// the pinned root key, long-polls for its release over its own mutual-TLS client, verifies the
/// manifest's Ed25519 signature, version and expiry, downloads and hashes every file, and
/// reports — what the real agent does, minus writing to a runtime's directories.
struct RolloutBenchmark {
    var nodes: Int
    var connection: AdminConnection

    struct Report {
        var nodes: Int
        var seconds: Double
        var applied: Int
        var p50: Double
        var p99: Double
        var rolloutApplied: Int
    }

    func run(progress: (String) -> Void) async throws -> Report {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: try HeartbeatBenchmark.httpConfiguration(caPEM: connection.caPEM))
        let clients = Mutex<[BenchNodeClient]>([])
        let result: Result<Report, any Error>
        do {
            result = .success(try await drive(http: http, group: group, clients: clients, progress: progress))
        } catch {
            result = .failure(error)
        }
        for client in clients.withLock({ $0 }) { try? await client.client.shutdown() }
        try? await http.shutdown()
        try? await group.shutdownGracefully()
        return try result.get()
    }

    private func drive(http: HTTPClient, group: MultiThreadedEventLoopGroup, clients shared: borrowing Mutex<[BenchNodeClient]>,
                       progress: (String) -> Void) async throws -> Report {
        progress("enrolling \(nodes) simulated nodes...")
        let created = try await AdminClient.with(connection) { client in
            try await client.post("/admin/v1/tokens", body: CreateTokenRequest(group: "bench", uses: nodes, ttlSeconds: 3600, requireApproval: false),
                                  as: CreatedToken.self)
        }
        guard let rootKey = created.rootPublicKey.flatMap({ Data(base64Encoded: $0) }) else { throw CLIError("coordinator returned no root key") }
        let prefix = "rb-\(UInt32.random(in: 0...UInt32.max))"
        var clients: [BenchNodeClient] = []
        try await withThrowingTaskGroup(of: BenchNodeClient.self) { tasks in
            var next = 0
            func add() {
                let name = "\(prefix)-\(next)"
                next += 1
                tasks.addTask {
                    let node = try await SimulatedNode.enroll(name: name, token: created.token, serverURL: connection.serverURL, http: http)
                    var tls = TLSConfiguration.makeClientConfiguration()
                    tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(node.certificatePEM.utf8)).map { .certificate($0) }
                    tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(node.keyPEM.utf8), format: .pem))
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(created.caPEM.utf8)))
                    tls.certificateVerification = .noHostnameVerification
                    let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: .init(tlsConfiguration: tls))
                    return BenchNodeClient(client: client, serverURL: connection.serverURL, rootKey: rootKey)
                }
            }
            for _ in 0..<min(32, nodes) { add() }
            while let client = try await tasks.next() {
                clients.append(client)
                shared.withLock { $0.append(client) }
                if next < nodes { add() }
            }
        }

        progress("verifying the root chain on every node and opening long polls...")
        let shared = Shared()
        let results = try await withThrowingTaskGroup(of: Double.self) { tasks -> [Double] in
            for client in clients {
                tasks.addTask {
                    try await client.loadTrust()
                    shared.ready.add(1, ordering: .relaxed)
                    let release = try await client.waitForRelease()
                    try await client.apply(release)
                    let t0 = shared.started.withLock { $0 } ?? Date()
                    return Date().timeIntervalSince(t0)
                }
            }
            while shared.ready.load(ordering: .relaxed) < clients.count { try await Task.sleep(for: .milliseconds(20)) }
            // Let the last polls reach the coordinator before publishing.
            try await Task.sleep(for: .milliseconds(300))
            progress("applying a release (2 skills, 5 files) to \(clients.count) nodes...")
            shared.started.withLock { $0 = Date() }
            let published = try await AdminClient.with(connection) { client in
                try await client.post("/admin/v1/releases", body: Self.spec(), as: PublishResponse.self)
            }
            guard published.releaseVersion != nil else { throw CLIError("nothing was published") }
            var durations: [Double] = []
            for try await duration in tasks { durations.append(duration) }
            return durations
        }
        let total = results.max() ?? 0
        let sorted = results.sorted()
        let rollouts = try await AdminClient.with(connection) { try await $0.get("/admin/v1/rollouts", as: [RolloutView].self) }
        return Report(nodes: clients.count, seconds: total, applied: results.count,
                      p50: sorted.isEmpty ? 0 : sorted[sorted.count / 2], p99: sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
                      rolloutApplied: rollouts.first?.counts["applied"] ?? 0)
    }

    /// State the node tasks share with the driver.
    private final class Shared: Sendable {
        let ready = Atomic<Int>(0)
        let started = Mutex<Date?>(nil)
    }

    /// One group, everything in one wave: the figure is distribution, not policy waits.
    static func spec() -> PublishRequest {
        func file(_ path: String, _ text: String, mode: Int = 0o644) -> PublishFile {
            PublishFile(path: path, mode: mode, content: Data(text.utf8).base64EncodedString())
        }
        let filler = String(repeating: "Keep answers short; every token costs money on a $10 board.\n", count: 30)
        return PublishRequest(dryRun: false, groups: [
            PublishGroup(
                name: "bench", config: .object([.init("agents", .object([.init("defaults", .object([.init("model_name", .string("bench"))]))]))]),
                skills: [
                    PublishSkill(name: "bench-health", files: [
                        file("SKILL.md", "---\nname: bench-health\ndescription: Bench skill.\n---\n" + filler),
                        file("scripts/report.sh", "#!/bin/sh\nuptime\n", mode: 0o755),
                        file("references/notes.md", filler),
                    ]),
                    PublishSkill(name: "bench-etiquette", files: [
                        file("SKILL.md", "---\nname: bench-etiquette\ndescription: Bench skill two.\n---\n" + filler),
                        file("assets/table.csv", "a,b\n1,2\n"),
                    ]),
                ],
                rollout: RolloutPolicy(canary: 0, batchSize: nil, batchPercent: 100, waitSeconds: 0, failureThreshold: 1)
            )
        ])
    }
}
