import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// `flotilla migrate`: a fleet made on the embedded default (gateway, budget, two agents,
/// metered calls, audit entries), moved into PostgreSQL with its coordinator stopped; the
/// agents carry on against the same data directory serving with `--database`, without
/// enrolling again.
@Suite(.serialized) struct MigrateEndToEndTests {
    @Test func anEmbeddedFleetMovesToPostgreSQLAndItsAgentsCarryOn() async throws {
        guard SharedDatabase.available else { return }
        let database = try SharedDatabase.create("migrate")
        defer { database.drop() }
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet, extraSpec: "budgets:\n  fleet: {daily: 5}\n")
            let second = try fleet.enroll(bundle: try fleet.provision(group: "demo"), name: "node-2")
            try #require(second.status == 0, "\(second.stderr)")
            for (index, state) in [gateway.state, second.stateDirectory].enumerated() {
                let workspace = fleet.root + "/workspace-\(index + 1)"
                try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
                _ = try fleet.startAgent(stateDirectory: state, label: "node-\(index + 1)", extraArguments: ["--runtime", "command", "--workspace", workspace])
            }
            try #require(try fleet.eventually { try fleet.nodes().filter { $0.status == .online }.count == 2 })
            let key = try String(contentsOfFile: gateway.state + "/gateway.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            for _ in 0..<3 { #expect(try await MultiCoordinatorEndToEndTests.chat(fleet, base: fleet.serverURL, key: key) == 200) }
            // The settled calls are in the ledger before the move.
            try #require(try fleet.eventually { try Self.usage(fleet).total.calls == 3 })
            let usageBefore = try Self.usage(fleet)
            let budgetsBefore = try Self.budgets(fleet)
            let nodesBefore = try fleet.nodes()
            let auditBefore = try Self.audit(fleet)

            // Not while the coordinator runs.
            let early = try fleet.cli(["migrate", "--to", database.url])
            #expect(early.status != 0 && early.stderr.contains("running"), "\(early.stderr)")
            let port = try #require(URLComponents(string: fleet.serverURL)?.port)
            fleet.stopCoordinator()
            let migrated = try fleet.cli(["migrate", "--to", database.url])
            try #require(migrated.status == 0, "\(migrated.stdout)\(migrated.stderr)")
            #expect(migrated.stdout.contains("counts match and the audit chain (\(auditBefore.count) entries) verifies"), "\(migrated.stdout)")
            #expect(try database.value("SELECT count(*) FROM usage") == "3")
            #expect(try database.value("SELECT count(*) FROM nodes") == "2")

            // A plain serve refuses to go on with the stale file.
            let plain = try ChildProcess(Binaries.flotilla, ["serve", "--data-dir", fleet.dataDirectory, "--listen", "127.0.0.1:0"],
                                         logDirectory: fleet.root + "/logs", label: "plain-serve")
            let refused = try fleet.eventually(timeout: 20) { !plain.isRunning }
            _ = plain.stop()
            #expect(refused && plain.stderr.contains("moved to"), "\(plain.stderr)")

            // The same data directory on the database, on the port the agents know.
            try fleet.startCoordinatorAgain(extraArguments: ["--database", database.url, "--listen", "127.0.0.1:\(port)"])
            let restartedAt = Date()
            #expect(try Self.usage(fleet).total == usageBefore.total)
            #expect(try Self.budgets(fleet).scopes.map(\.spentUSD) == budgetsBefore.scopes.map(\.spentUSD))
            #expect(Array(try Self.audit(fleet).prefix(auditBefore.count)) == auditBefore)
            let carriedOn = try fleet.eventually(timeout: 30) {
                try fleet.nodes().filter { node in
                    node.status == .online && (node.lastSeen.flatMap(MultiCoordinatorEndToEndTests.date) ?? .distantPast) > restartedAt
                }.count == 2
            }
            #expect(carriedOn, "\(fleet.coordinatorLogs.suffix(2000))")
            let nodesAfter = try fleet.nodes()
            #expect(nodesAfter.map(\.id).sorted() == nodesBefore.map(\.id).sorted())
            #expect(nodesAfter.map(\.releaseVersion) == nodesBefore.map(\.releaseVersion))
            #expect(try await MultiCoordinatorEndToEndTests.chat(fleet, base: fleet.serverURL, key: key) == 200)
            #expect(try fleet.eventually { try Self.usage(fleet).total.calls == 4 })
            let verify = try fleet.cli(["audit", "verify"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    static func usage(_ fleet: TestFleet) throws -> UsageReport {
        let result = try fleet.cli(["usage", "--since", "1d", "--json"])
        guard result.status == 0 else { throw TestFailure("usage failed: \(result.stderr)") }
        return try JSONDecoder().decode(UsageReport.self, from: Data(result.stdout.utf8))
    }

    static func budgets(_ fleet: TestFleet) throws -> BudgetsReport {
        let result = try fleet.cli(["budgets", "--json"])
        guard result.status == 0 else { throw TestFailure("budgets failed: \(result.stderr)") }
        return try JSONDecoder().decode(BudgetsReport.self, from: Data(result.stdout.utf8))
    }

    static func audit(_ fleet: TestFleet) throws -> [AuditEntryView] {
        let result = try fleet.cli(["audit", "--json"])
        guard result.status == 0 else { throw TestFailure("audit failed: \(result.stderr)") }
        return try JSONDecoder().decode([AuditEntryView].self, from: Data(result.stdout.utf8))
    }
}
}
