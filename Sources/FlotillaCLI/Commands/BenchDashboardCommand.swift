import ArgumentParser
import FlotillaCoordinator
import Foundation

extension BenchCommand {
    /// `flotilla bench dashboard`: page render times at a large simulated fleet.
    struct Dashboard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dashboard",
            abstract: "Time to serve the dashboard's overview, nodes and node pages at N simulated nodes, against /healthz on the same listener.",
            discussion: """
                Creates a temporary data directory, writes N simulated nodes into its database (latest state, an hour of \
                heartbeats each, 30 days of gateway spend on two models), starts a coordinator (this binary) on it, signs \
                in through the dashboard's form and requests each page one after another on one connection.
                """
        )

        @Option(help: "Simulated nodes.")
        var nodes: Int = 10_000

        @Option(help: "Groups the nodes are spread over.")
        var groups: Int = 20

        @Option(help: "Timed requests per page (after 3 warm-up requests).")
        var requests: Int = 30

        func run() async throws {
            guard (1...1_000_000).contains(nodes), (1...1000).contains(groups), (1...10_000).contains(requests) else {
                throw ValidationError("--nodes 1...1000000, --groups 1...1000, --requests 1...10000")
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-bench-dashboard-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // A first start creates the data directory and the schema; the fleet goes in while it is stopped.
            try CoordinatorProcess(dataDirectory: directory).stop()
            let seeding = ContinuousClock.now
            let names = try SQLiteStore(path: DataDirectory(directory).database).seedSimulatedFleet(nodes: nodes, groups: groups, heartbeatMinutes: 60)
            print("seeded \(nodes) nodes in \(groups) groups (60 heartbeats and 30 days of spend each) in \(ContinuousClock.now - seeding)")
            try? FileManager.default.removeItem(atPath: DataDirectory(directory).adminURL)
            let server = try CoordinatorProcess(dataDirectory: directory)
            defer { server.stop() }
            let connection = try AdminConnection.resolve(server: nil, token: nil, caFile: nil, dataDir: directory, defaultDataDir: directory)
            let figures = try await DashboardBenchmark(connection: connection, requests: requests, nodeName: names[names.count / 2]).run()
            print("page                                            p50 ms    p95 ms    bytes")
            for figure in figures {
                print(figure.label.padding(toLength: 46, withPad: " ", startingAt: 0)
                      + String(format: "%8.2f  %8.2f  %7d", figure.p50Millis, figure.p95Millis, figure.bytes))
            }
        }
    }
}
