import FlotillaCoordinator
import Foundation

/// One fleet of a backend comparison (`flotilla bench heartbeats|gateway --database URL`):
/// coordinators (this binary) on temporary data directories, on the embedded store or on a
/// scratch PostgreSQL database; the second and later coordinators join with the first one's
/// exported keys (`keys export-coordinator`), as on another host.
final class BenchFleet {
    let name: String
    let coordinators: [CoordinatorProcess]
    /// The admin API of the first coordinator.
    let connection: AdminConnection
    /// Every coordinator's URL, the first one's first.
    let serverURLs: [String]
    let probe: any StorageProbe

    /// Starts `count` coordinators; on PostgreSQL when `database` is given.
    init(name: String, count: Int, database: DatabaseURL?, passwordFile: String?, probe: (String) throws -> any StorageProbe) throws {
        self.name = name
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-\(getpid())-\(Secrets.shortID())").path
        var arguments: [String] = []
        if let database {
            arguments = ["--database", database.argument] + (passwordFile.map { ["--database-password-file", $0] } ?? [])
        }
        var coordinators: [CoordinatorProcess] = []
        do {
            let first = try CoordinatorProcess(dataDirectory: base + "-1", extraArguments: arguments)
            coordinators.append(first)
            for index in (1..<max(1, count)).map({ $0 + 1 }) {
                let directory = base + "-\(index)"
                do { _ = try PeerKeys.export(from: DataDirectory(first.dataDirectory), to: directory) } catch { throw CLIError(error.message) }
                coordinators.append(try CoordinatorProcess(dataDirectory: directory, extraArguments: arguments))
            }
            connection = try AdminConnection.resolve(server: nil, token: nil, caFile: nil, dataDir: first.dataDirectory, defaultDataDir: first.dataDirectory)
            serverURLs = try coordinators.map { coordinator in
                try String(contentsOfFile: coordinator.dataDirectory + "/admin.url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            self.probe = try probe(first.dataDirectory)
        } catch {
            // Nothing of a fleet that did not start is left running or on disk.
            Self.stop(coordinators)
            for index in 1...max(1, count) { try? FileManager.default.removeItem(atPath: base + "-\(index)") }
            throw error
        }
        self.coordinators = coordinators
    }

    /// The coordinators' process ids (for the CPU split).
    var pids: [Int32] { coordinators.map(\.pid) }

    /// Stops every coordinator and removes their data directories.
    func stop() { Self.stop(coordinators) }

    private static func stop(_ coordinators: [CoordinatorProcess]) {
        for coordinator in coordinators {
            coordinator.stop()
            try? FileManager.default.removeItem(atPath: coordinator.dataDirectory)
        }
    }

    /// Runs `body` with the fleets a comparison measures: on the embedded store, on PostgreSQL
    /// with one coordinator, and (with `coordinators` above 1) on PostgreSQL with that many; each
    /// PostgreSQL fleet on a scratch database of its own on `server`, dropped afterwards.
    static func withComparison<T: Sendable>(server: DatabaseURL, passwordFile: String?, coordinators: Int,
                                            _ body: ([BenchFleet]) async throws -> T) async throws -> T {
        var fleets: [BenchFleet] = []
        defer { for fleet in fleets { fleet.stop() } }
        fleets.append(try BenchFleet(name: "SQLite (embedded)", count: 1, database: nil, passwordFile: nil) { try SQLiteStorageProbe(dataDirectory: $0) })
        return try await PostgresStorageProbe.withScratchDatabase(server: server, passwordFile: passwordFile) { single, singleProbe in
            fleets.append(try BenchFleet(name: "PostgreSQL, 1 coordinator", count: 1, database: single, passwordFile: passwordFile) { _ in singleProbe })
            guard coordinators > 1 else {
                defer { for fleet in fleets.dropFirst() { fleet.stop() } }
                return try await body(fleets)
            }
            return try await PostgresStorageProbe.withScratchDatabase(server: server, passwordFile: passwordFile) { shared, sharedProbe in
                fleets.append(try BenchFleet(name: "PostgreSQL, \(coordinators) coordinators", count: coordinators, database: shared,
                                             passwordFile: passwordFile) { _ in sharedProbe })
                // Stopped before their databases are dropped.
                defer { for fleet in fleets.dropFirst() { fleet.stop() } }
                return try await body(fleets)
            }
        }
    }
}

/// CPU time used by the benchmark's processes, from `/proc`: where the machine's cores went
/// during a phase (a two-core machine bounds what a second coordinator can add).
struct CPUSplit {
    /// CPU seconds by role.
    var seconds: [String: Double] = [:]

    /// Now: the coordinators named by pid, every `postgres` server process, the fake provider,
    /// and this process (the load generator).
    static func sample(coordinators: [Int32], provider: Int32?) -> CPUSplit {
        var split = CPUSplit()
        split.seconds["coordinators"] = coordinators.reduce(0) { $0 + cpuSeconds($1) }
        if let provider { split.seconds["fake provider"] = cpuSeconds(provider) }
        split.seconds["load generator (this process)"] = cpuSeconds(getpid())
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        split.seconds["PostgreSQL server"] = pids.filter { command($0) == "postgres" }.reduce(0) { $0 + cpuSeconds($1) }
        return split
    }

    /// `later`'s seconds minus these.
    func until(_ later: CPUSplit) -> CPUSplit {
        CPUSplit(seconds: Dictionary(uniqueKeysWithValues: later.seconds.map { ($0.key, max(0, $0.value - (seconds[$0.key] ?? 0))) }))
    }

    /// One line: each role's share of `cores` × `wall` seconds.
    func line(wall: Double) -> String {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        let parts = seconds.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value / wall)) cores" }
        return "CPU (of \(Int(cores)) cores): " + parts.joined(separator: ", ")
    }

    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// utime + stime of `pid` (fields 14 and 15 of /proc/PID/stat), seconds.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let fields = statFields(pid), fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func command(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
