import ArgumentParser
import FlotillaCoordinator
import Foundation

/// `flotilla bench`: shipped benchmarks whose figures go into docs/benchmarks.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print the figures recorded in docs/benchmarks.md.",
        subcommands: [Heartbeats.self, Rollout.self, Gateway.self, Failover.self, Dashboard.self, FakeProviderCommand.self]
    )

    struct Heartbeats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Durable heartbeats/s and latency with many simulated nodes over mutual TLS keep-alive.",
            discussion: """
                Without --server/--data-dir it starts its own coordinator (this binary) on a temporary data \
                directory on loopback, enrolls the simulated nodes through the real enrollment endpoint, \
                then sends heartbeats back to back on one connection per node.
                """
        )

        @Option(help: "Simulated nodes (one mTLS connection each).")
        var nodes: Int = 2000

        @Option(help: "Measurement duration, e.g. 20s.")
        var duration: String = "20s"

        @Option(help: "Event-loop threads for the load generator.")
        var clientThreads: Int = 1

        @Option(help: "Kill the benchmark's own coordinator with SIGKILL this long into the load, start it again, and count acknowledged heartbeats missing from the database (must be 0), e.g. 5s.")
        var killAfter: String?

        @OptionGroup var backends: BackendOptions

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            guard let seconds = DurationParser.seconds(duration), seconds >= 1 else {
                throw ValidationError("--duration must be at least 1s")
            }
            if let server = try backends.server() {
                guard killAfter == nil, connection.server == nil, connection.dataDir == nil else {
                    throw ValidationError("--database compares coordinators of the benchmark's own: leave out --kill-after, --server and --data-dir")
                }
                let rows = try await BackendBenchmark.heartbeats(server: server, passwordFile: backends.databasePasswordFile, coordinators: backends.coordinators,
                                                                 nodes: nodes, seconds: seconds, clientThreads: clientThreads) { print($0) }
                BackendBenchmark.print(rows, unit: "durable heartbeats/s", stored: "stored")
                return
            }
            let killSeconds = try killAfter.map { text -> Double in
                guard let value = DurationParser.seconds(text), value > 0, value < seconds else {
                    throw ValidationError("--kill-after must be a duration shorter than --duration")
                }
                guard connection.server == nil && connection.dataDir == nil else {
                    throw ValidationError("--kill-after kills the benchmark's own coordinator: leave out --server and --data-dir")
                }
                return value
            }
            guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
            var server: CoordinatorProcess?
            var dataDirectory = connection.dataDir
            let resolved: AdminConnection
            if connection.server == nil && connection.dataDir == nil {
                let temp = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(getpid())").path
                server = try CoordinatorProcess(dataDirectory: temp)
                dataDirectory = temp
                resolved = try AdminConnection.resolve(
                    server: nil, token: nil, caFile: nil, dataDir: temp, defaultDataDir: temp
                )
            } else {
                resolved = try connection.resolve()
            }
            defer {
                server?.stop()
                if let server { try? FileManager.default.removeItem(atPath: server.dataDirectory) }
            }
            var bench = HeartbeatBenchmark(
                nodes: nodes, duration: seconds, clientThreads: clientThreads, connection: resolved,
                probe: dataDirectory.map { directory in { try SQLiteStorageProbe(dataDirectory: directory) } }
            )
            if let killSeconds, let running = server {
                let pid = running.pid
                bench.crash = (after: killSeconds, kill: { kill(pid, SIGKILL) }, restart: {
                    running.waitForExit()
                    server = try CoordinatorProcess(dataDirectory: running.dataDirectory)
                    server?.stop()
                })
            }
            let report = try await bench.run { print($0) }
            print("nodes:                \(report.nodes)")
            print("duration:             \(String(format: "%.1f", report.duration)) s")
            print("acknowledged:         \(report.acknowledged) (failed: \(report.failed))")
            if let stored = report.stored { print("stored in SQLite:     \(stored)") }
            if killSeconds != nil { print("killed with SIGKILL:  after \(killAfter ?? "") of load, then started again") }
            if let missing = report.missing { print("acknowledged but missing: \(missing) (node by node)") }
            print("durable heartbeats/s: \(Int(report.perSecond))")
            print("latency p50:          \(String(format: "%.2f", Double(report.p50Micros) / 1000)) ms")
            print("latency p99:          \(String(format: "%.2f", Double(report.p99Micros) / 1000)) ms")
            if let missing = report.missing, missing > 0 {
                throw CLIError("\(missing) of \(report.acknowledged) acknowledged heartbeats are not in the database")
            }
        }
    }

    struct Rollout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time from apply until N simulated nodes (verifying signatures and hashes) all report applied.",
            discussion: "Starts its own coordinator (this binary) on a temporary data directory unless --server/--data-dir is given."
        )

        @Option(help: "Simulated nodes (one mTLS client and long poll each).")
        var nodes: Int = 1000

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            guard nodes >= 1 else { throw ValidationError("--nodes must be at least 1") }
            var server: CoordinatorProcess?
            let resolved: AdminConnection
            if connection.server == nil && connection.dataDir == nil {
                let temp = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-rollout-\(getpid())").path
                server = try CoordinatorProcess(dataDirectory: temp)
                resolved = try AdminConnection.resolve(server: nil, token: nil, caFile: nil, dataDir: temp, defaultDataDir: temp)
            } else {
                resolved = try connection.resolve()
            }
            defer {
                server?.stop()
                if let server { try? FileManager.default.removeItem(atPath: server.dataDirectory) }
            }
            let report = try await RolloutBenchmark(nodes: nodes, connection: resolved).run { print($0) }
            print("nodes:                    \(report.nodes)")
            print("all applied after apply:  \(String(format: "%.3f", report.seconds)) s")
            print("per node p50 / p99:       \(String(format: "%.3f", report.p50)) s / \(String(format: "%.3f", report.p99)) s")
            print("coordinator counts applied: \(report.rolloutApplied)")
            if report.rolloutApplied < report.nodes {
                throw CLIError("the coordinator recorded \(report.rolloutApplied) applied reports for \(report.nodes) nodes")
            }
        }
    }

    struct Gateway: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gateway",
            abstract: "Latency the gateway adds and metered calls/s, against calling the same fake provider directly.",
            discussion: """
                Starts the fake provider and a coordinator (this binary) on a temporary data directory, publishes a \
                gateway configuration, sets the provider key and enrolls one node. Then calls the provider directly \
                and through the gateway (node key or mutual TLS, metering on), one call at a time for latency and \
                over many keep-alive connections for throughput, alternating the two so noise hits both. Fails if \
                an acknowledged gateway call has no usage row.
                """
        )

        @Option(help: "Connections for the throughput phase.")
        var concurrency: Int = 64

        @Option(help: "Time per side and phase, e.g. 10s.")
        var duration: String = "10s"

        @Option(help: "How the node authenticates to the gateway: key or mtls.")
        var auth: String = "key"

        @Flag(help: "Also measure the gateway with budgets and rate limits on every scope (set far above the load).")
        var budgets = false

        @Flag(help: "Also measure the same call sent to /v1/messages, translated to the OpenAI-kind provider and back.")
        var translate = false

        @OptionGroup var backends: BackendOptions

        func run() async throws {
            guard let seconds = DurationParser.seconds(duration), seconds >= 2 else { throw ValidationError("--duration must be at least 2s") }
            guard (1...4096).contains(concurrency) else { throw ValidationError("--concurrency must be 1...4096") }
            if let server = try backends.server() {
                guard auth == "key" else { throw ValidationError("--database compares backends with key authentication") }
                guard !translate else { throw ValidationError("--translate measures the embedded store's gateway; leave out --database") }
                let rows = try await BackendBenchmark.gateway(server: server, passwordFile: backends.databasePasswordFile, coordinators: backends.coordinators,
                                                              concurrency: concurrency, seconds: seconds, budgets: budgets) { print($0) }
                BackendBenchmark.print(rows, unit: "metered calls/s", stored: "usage rows")
                return
            }
            guard let mode = GatewayBenchmark.Auth(rawValue: auth) else { throw ValidationError("--auth must be key or mtls") }
            let report = try await GatewayBenchmark(concurrency: concurrency, seconds: seconds, auth: mode, budgets: budgets, translate: translate)
                .run { print($0) }
            func ms(_ micros: UInt32) -> String { String(format: "%.3f ms", Double(micros) / 1000) }
            let direct = report.sides[0]
            var table = TextTable(headers: ["", "p50 (1 at a time)", "p99", "added p50", "added p99", "calls/s (\(report.concurrency) conns)"])
            for side in report.sides {
                let (p50, p99) = (side.latency.percentile(0.5), side.latency.percentile(0.99))
                let added = side.name == direct.name ? ["-", "-"] : [ms(p50 &- min(p50, direct.latency.percentile(0.5))),
                                                                       ms(p99 &- min(p99, direct.latency.percentile(0.99)))]
                table.add([side.name, ms(p50), ms(p99)] + added + [String(Int(side.requestsPerSecond))])
            }
            print("")
            print(table.render())
            if let side = report.budgetsSide, report.sides[1].requestsPerSecond > 0 {
                let cost = 1 - report.sides[side].requestsPerSecond / report.sides[1].requestsPerSecond
                print("budgets and rate limits cost \(String(format: "%.1f", cost * 100))% of the gateway's calls/s")
            }
            if let side = report.translatedSide, report.sides[1].requestsPerSecond > 0 {
                let cost = 1 - report.sides[side].requestsPerSecond / report.sides[1].requestsPerSecond
                print("translation: \(Int(report.sides[side].requestsPerSecond)) metered calls/s translated, \(Int(report.sides[1].requestsPerSecond)) without "
                      + "(same run): it costs \(String(format: "%.1f", cost * 100))% of the gateway's calls/s (goal: at most 10%)")
            }
            func median(_ sorted: [Double]) -> String { sorted.isEmpty ? "-" : String(format: "%.3f ms", sorted[sorted.count / 2]) }
            var floors = TextTable(headers: ["measured in the same rounds, one at a time", "p50", "p99"])
            for (label, floor) in [("no-op /healthz on the gateway's listener (same TLS)", report.listenerFloor),
                                   ("4 KiB write + fsync in the data directory", report.fsyncFloor),
                                   ("the call to the provider through AsyncHTTPClient", report.upstreamClientFloor)] {
                floors.add([label, ms(floor.percentile(0.5)), ms(floor.percentile(0.99))])
            }
            print("")
            print(floors.render())
            // A gateway that did nothing else still pays its listener's round trip, one durable
            // commit and its upstream client's cost over the direct side's lean client.
            let client = report.upstreamClientFloor.percentile(0.5)
            let floor = report.listenerFloor.percentile(0.5) &+ report.fsyncFloor.percentile(0.5)
                &+ (client &- min(client, direct.latency.percentile(0.5)))
            print("floor of the added p50 from these three: \(ms(floor)) (listener round trip + fsync + AsyncHTTPClient over the direct client)")
            print("inside the gateway (p50 of its usage rows): provider's first byte after \(median(report.gatewayFirstByteMs)), "
                  + "answer complete after \(median(report.gatewayCompleteMs)), then its record commits")
            print("gateway calls acknowledged: \(report.acknowledged) (failed: \(report.failed)); usage rows stored: \(report.stored)")
            if report.stored < report.acknowledged {
                throw CLIError("only \(report.stored) of \(report.acknowledged) acknowledged gateway calls have a usage row")
            }
        }
    }
}

extension BenchCommand {
    struct Failover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover",
            abstract: "Time from kill -9 of the coordinator nodes use to their heartbeats and gateway calls answered by the other.",
            discussion: "Two coordinators (this binary) on a scratch database of the PostgreSQL server --database names (dropped afterwards)."
        )

        @Option(help: "A PostgreSQL server: postgres://USER@HOST:PORT/DB (its user needs CREATEDB; the password from passfile=PATH or --database-password-file).")
        var database: String

        @Option(help: "A file (0600) whose first line is the database password.")
        var databasePasswordFile: String?

        @Option(help: "Simulated nodes.")
        var nodes: Int = 50

        func run() async throws {
            guard (1...1000).contains(nodes) else { throw ValidationError("--nodes must be 1...1000") }
            let server: DatabaseURL
            do { server = try DatabaseURL(database) } catch { throw ValidationError("--database: \(error.message)") }
            let report = try await FailoverBenchmark(nodes: nodes, server: server, passwordFile: databasePasswordFile).run { print($0) }
            func figures(_ times: [Double]) -> [String] {
                guard let first = times.first, let last = times.last else { return ["-", "-", "-"] }
                return [String(format: "%.2f s", first), String(format: "%.2f s", times[times.count / 2]), String(format: "%.2f s", last)]
            }
            var table = TextTable(headers: ["after the kill", "first node", "median", "last node", "nodes"])
            table.add(["heartbeat acknowledged by the survivor"] + figures(report.heartbeat) + ["\(report.heartbeat.count)/\(report.nodes)"])
            table.add(["gateway call answered 200 by the survivor"] + figures(report.gateway) + ["\(report.gateway.count)/\(report.nodes)"])
            print("")
            print(table.render())
            print("the survivor's admin API lists every node online: " + (report.allOnline.map { String(format: "%.2f s after the kill", $0) } ?? "not within 30 s"))
            if report.heartbeat.count < report.nodes || report.gateway.count < report.nodes {
                throw CLIError("not every node reached the survivor within 30 s")
            }
        }
    }
}

/// `--database URL [--coordinators N]` of the heartbeat and gateway benchmarks: compare the
/// embedded store with PostgreSQL in the same run.
struct BackendOptions: ParsableArguments {
    @Option(help: "Also run on PostgreSQL: a server (postgres://USER@HOST:PORT/DB, the password from the URL's passfile=PATH or --database-password-file) where the benchmark creates and drops scratch databases (the user needs CREATEDB). Prints the PostgreSQL figures beside SQLite's, measured in the same run.")
    var database: String?

    @Option(help: "A file (0600) whose first line is the database password.")
    var databasePasswordFile: String?

    @Option(help: "With --database: also measure this many coordinators sharing one database (2 or more).")
    var coordinators: Int = 1

    func server() throws -> DatabaseURL? {
        guard let database else {
            if coordinators != 1 { throw ValidationError("--coordinators needs --database") }
            return nil
        }
        guard (1...8).contains(coordinators) else { throw ValidationError("--coordinators must be 1...8") }
        do { return try DatabaseURL(database) } catch { throw ValidationError("--database: \(error.message)") }
    }
}
