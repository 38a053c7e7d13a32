import FlotillaCoordinator
import Foundation
import NIOCore
import NIOPosix

/// `flotilla bench heartbeats|gateway --database URL [--coordinators N]`: the same load on the
/// embedded store, on PostgreSQL with one coordinator and with N, in the same run, so the
/// ratios hold on a noisy machine. Every figure counts only acknowledged work that the
/// backend stored.
enum BackendBenchmark {
    /// One fleet's figures.
    struct Row {
        var fleet: String
        var perSecond: Double
        var p50Micros: UInt32
        var p99Micros: UInt32
        var acknowledged: Int
        var stored: Int
        var cpu: CPUSplit
        var wall: Double
    }

    // MARK: Heartbeats

    static func heartbeats(server: DatabaseURL, passwordFile: String?, coordinators: Int, nodes: Int, seconds: Double,
                           clientThreads: Int, progress: (String) -> Void) async throws -> [Row] {
        try await BenchFleet.withComparison(server: server, passwordFile: passwordFile, coordinators: coordinators) { fleets in
            var rows: [Row] = []
            for fleet in fleets {
                progress("== \(fleet.name)")
                let probe = fleet.probe
                let pids = fleet.pids
                let bench = HeartbeatBenchmark(nodes: nodes, duration: seconds, clientThreads: clientThreads, connection: fleet.connection,
                                               probe: { probe }, peers: Array(fleet.serverURLs.dropFirst()),
                                               sampleCPU: { CPUSplit.sample(coordinators: pids, provider: nil) })
                let report = try await bench.run(progress: progress)
                if let missing = report.missing, missing > 0 {
                    throw CLIError("\(fleet.name): \(missing) of \(report.acknowledged) acknowledged heartbeats are not in the database")
                }
                rows.append(Row(fleet: fleet.name, perSecond: report.perSecond, p50Micros: report.p50Micros, p99Micros: report.p99Micros,
                                acknowledged: report.acknowledged, stored: report.stored ?? 0, cpu: report.cpu ?? CPUSplit(), wall: report.duration))
            }
            return rows
        }
    }

    // MARK: Gateway

    /// With `budgets`, every call also reserves and settles on node, group and fleet budgets
    /// and passes the rate limits (all far above the load).
    static func gateway(server: DatabaseURL, passwordFile: String?, coordinators: Int, concurrency: Int, seconds: Double, budgets: Bool,
                        progress: (String) -> Void) async throws -> [Row] {
        let provider = try FakeProviderProcess(key: GatewayBenchmark.providerKey)
        defer { provider.stop() }
        return try await BenchFleet.withComparison(server: server, passwordFile: passwordFile, coordinators: coordinators) { fleets in
            let setup = GatewayBenchmark(concurrency: concurrency, seconds: seconds, auth: .key, budgets: false)
            let spec = GatewayBenchmark.spec(providerURL: provider.url, withBudgets: budgets)
            var targets: [[GatewayBenchmark.Target]] = []
            var storedBefore: [Int] = []
            for fleet in fleets {
                progress("setting up \(fleet.name): \(fleet.serverURLs.joined(separator: ", "))")
                let node = try await setup.setUp(connection: fleet.connection, spec: spec)
                let caPEM = fleet.connection.caPEM ?? ""
                targets.append(try fleet.serverURLs.map { url in
                    try GatewayBenchmark.target(url: url, path: "/v1/chat/completions", authorization: "Bearer " + (node.gatewayKey ?? ""),
                                                body: GatewayBenchmark.chatBody(model: "fleet-default"),
                                                tls: { _ in try GatewayBenchmark.serverOnlyTLS(caPEM: caPEM) })
                })
                storedBefore.append(try await fleet.probe.answeredUsageRecords())
            }
            // A fleet's coordinators carry its connections in equal shares.
            func drive(_ index: Int, connections: Int, for seconds: Double) async throws -> ConnectionResult {
                let shares = targets[index].indices.map { connections / targets[index].count + ($0 < connections % targets[index].count ? 1 : 0) }
                return try await withThrowingTaskGroup(of: ConnectionResult.self) { tasks in
                    for (target, share) in zip(targets[index], shares) where share > 0 {
                        tasks.addTask { try await target.drive(group: MultiThreadedEventLoopGroup.singleton, connections: share, seconds: seconds) }
                    }
                    var total = ConnectionResult()
                    for try await result in tasks { total.merge(result) }
                    return total
                }
            }
            var latency = [ConnectionResult](repeating: ConnectionResult(), count: fleets.count)
            var throughput = latency
            var wall = [Double](repeating: 0, count: fleets.count)
            var cpu = [CPUSplit](repeating: CPUSplit(), count: fleets.count)
            progress("warming up...")
            for index in fleets.indices {
                let warm = try await drive(index, connections: 4 * targets[index].count, for: 1)
                guard warm.acknowledged > 0 else { throw CLIError("\(fleets[index].name): warm-up calls failed (\(warm.failed) refused)") }
                latency[index].acknowledged += warm.acknowledged
            }
            progress("latency: one call at a time, 4 alternating rounds of \(String(format: "%.1f", seconds / 4)) s per fleet...")
            for _ in 0..<4 {
                for index in fleets.indices { latency[index].merge(try await drive(index, connections: 1, for: seconds / 4)) }
            }
            progress("throughput: \(concurrency) connections, 2 alternating rounds of \(String(format: "%.1f", seconds / 2)) s per fleet...")
            for _ in 0..<2 {
                for index in fleets.indices {
                    let before = CPUSplit.sample(coordinators: fleets[index].pids, provider: provider.pid)
                    let started = Date()
                    throughput[index].merge(try await drive(index, connections: concurrency, for: seconds / 2))
                    wall[index] += Date().timeIntervalSince(started)
                    let used = before.until(CPUSplit.sample(coordinators: fleets[index].pids, provider: provider.pid))
                    for (role, value) in used.seconds { cpu[index].seconds[role, default: 0] += value }
                }
            }
            // Records are durable before their answers; let answers in flight at a deadline land.
            try await Task.sleep(for: .milliseconds(500))
            var rows: [Row] = []
            for index in fleets.indices {
                latency[index].latenciesMicros.sort()
                let acknowledged = latency[index].acknowledged + throughput[index].acknowledged
                let stored = try await fleets[index].probe.answeredUsageRecords() - storedBefore[index]
                guard stored >= acknowledged else {
                    throw CLIError("\(fleets[index].name): only \(stored) of \(acknowledged) acknowledged gateway calls have a usage row")
                }
                rows.append(Row(fleet: fleets[index].name, perSecond: wall[index] > 0 ? Double(throughput[index].acknowledged) / wall[index] : 0,
                                p50Micros: latency[index].percentile(0.5), p99Micros: latency[index].percentile(0.99),
                                acknowledged: acknowledged, stored: stored, cpu: cpu[index], wall: wall[index]))
            }
            return rows
        }
    }

    // MARK: Output

    /// The figures, each fleet's ratio to the embedded one and (with several coordinators) of
    /// N coordinators to one, and where the CPU went.
    static func print(_ rows: [Row], unit: String, stored: String) {
        func ms(_ micros: UInt32) -> String { String(format: "%.2f ms", Double(micros) / 1000) }
        let baseline = rows.first?.perSecond ?? 0
        var table = TextTable(headers: ["", unit, "× SQLite", "p50", "p99", "acknowledged", stored])
        for row in rows {
            let ratio = baseline > 0 ? String(format: "%.2f×", row.perSecond / baseline) : "-"
            table.add([row.fleet, String(Int(row.perSecond)), ratio, ms(row.p50Micros), ms(row.p99Micros), "\(row.acknowledged)", "\(row.stored)"])
        }
        Swift.print("")
        Swift.print(table.render())
        if rows.count == 3, rows[1].perSecond > 0 {
            Swift.print(String(format: "%@: %.2f× one coordinator", rows[2].fleet, rows[2].perSecond / rows[1].perSecond))
        }
        Swift.print("")
        for row in rows where row.wall > 0 { Swift.print("\(row.fleet): \(row.cpu.line(wall: row.wall))") }
    }
}
