import FlotillaProtocol
import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing

@testable import FlotillaCoordinator

/// `flotilla migrate`: an embedded fleet copied into PostgreSQL reads the same through every
/// seam, and a migration that cannot finish leaves the database untouched.
@Suite struct FleetMigrationTests {
    static let actor = AuditActor(name: "cli:admin-token/0123abcd", source: "127.0.0.1")
    static var quiet: Logger {
        var logger = Logger(label: "test-migrate")
        logger.logLevel = .warning
        return logger
    }

    /// A small embedded fleet: two nodes, heartbeats of which some are rolled up, audit
    /// entries, an event and a sealed provider key; its master key written where `serve` keeps it.
    static func seed(_ fixture: StoreFixture) async throws -> (nodes: [NodeRecord], start: Date) {
        let storage = try #require(fixture.storage)
        try SecureFile.write(fixture.masterKey.base64 + "\n", to: fixture.directory.file("master.key"), mode: 0o600)
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 3600)
        let nodes = [try await fixture.addNode(name: "board-a", group: "edge"), try await fixture.addNode(name: "board-b", group: "lab")]
        for minute in 0..<6 {
            var batch: [HeartbeatEntry] = []
            for (index, node) in nodes.enumerated() {
                var readings = HeartbeatRequest()
                readings.sequence = Int64(minute + 1)
                readings.cpuPercent = Double(10 * index + minute)
                readings.memAvailableBytes = 1_000_000 - Int64(minute)
                batch.append(HeartbeatEntry(nodeID: node.id, receivedAt: start.addingTimeInterval(Double(minute) * 60 + 5), readings: readings))
            }
            try await fixture.writeHeartbeats(batch)
            // The first half is summarised before the move, the rest stays raw.
            if minute == 2 { _ = try await fixture.store.rollUpHeartbeats() }
        }
        for action in ["token.create", "node.approve", "rollout.pause"] {
            try await storage.audit.append(AuditRecord(action, target: "t"), actor: actor)
        }
        try await storage.events.append(FleetEvent(at: start, kind: .budgetSoftThreshold, scope: "fleet", message: "80% of the fleet's daily budget"),
                                        onceAs: "fleet:daily:warn")
        try await storage.secrets.putSealed(SealedSecret(provider: "openai", sealed: [1, 2, 3, 250], setAt: start))
        return (nodes, start)
    }

    @Test func aFleetCopiedIntoPostgreSQLReadsTheSameThroughEverySeam() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await StoreFixture.with(.sqlite) { fixture in
            let (nodes, start) = try await Self.seed(fixture)
            let source = try #require(fixture.storage)
            let directory = DataDirectory(fixture.directory.path)
            let end = start.addingTimeInterval(3600)
            try await PostgresTestDatabase.with { database in
                let report = try await FleetMigration.run(directory: directory, into: database, logger: Self.quiet)
                #expect(report.auditEntries == 3)
                #expect(report.tables.first { $0.name == "heartbeats" }?.rows == 12)
                #expect(report.tables.first { $0.name == "nodes" }?.rows == 2)

                let target = try await PostgresStorage.open(database: database, directory: directory, masterKey: fixture.masterKey, logger: Self.quiet)
                #expect(try await target.store.nodes().map(\.id).sorted() == nodes.map(\.id).sorted())
                for node in nodes {
                    // The roll-up's cursor carried over: minutes summarised before are not summed twice.
                    let before = try await source.store.readings(nodeID: node.id, from: start, to: end, points: 60)
                    #expect(try await target.store.readings(nodeID: node.id, from: start, to: end, points: 60) == before)
                    _ = try await target.store.rollUpHeartbeats()
                    #expect(try await target.store.readings(nodeID: node.id, from: start, to: end, points: 60) == before)
                }
                #expect(try await target.audit.verify() == AuditVerification(entries: 3, problems: []))
                // New entries continue the chain that was moved.
                try await target.audit.append(AuditRecord("node.revoke", target: "board-b"), actor: Self.actor)
                #expect(try await target.audit.verify() == AuditVerification(entries: 4, problems: []))
                #expect(try await target.events.events(since: start, limit: 10).map(\.message) == ["80% of the fleet's daily budget"])
                #expect(try await target.secrets.allSealed().map(\.sealed) == [[1, 2, 3, 250]])
                // The marker stops a plain serve, and a second migration, from going on with the file.
                #expect(SecureFile.exists(directory.migratedMarker))
                await expectCoordinatorError(.invalidRequest) {
                    _ = try await FleetMigration.run(directory: directory, into: database, logger: Self.quiet)
                }
            }
        }
    }

    @Test func aDatabaseThatHoldsAFleetOrAChainThatDoesNotVerifyIsRefusedAndLeftAsItWas() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await StoreFixture.with(.sqlite) { fixture in
            _ = try await Self.seed(fixture)
            let directory = DataDirectory(fixture.directory.path)
            try await PostgresTestDatabase.with { database in
                try await PostgresSchema.migrate(database)
                try await database.execute("INSERT INTO settings (key, value) VALUES ('someone_else', '\\x01')")
                await expectCoordinatorError(.invalidRequest) {
                    _ = try await FleetMigration.run(directory: directory, into: database, logger: Self.quiet)
                }
                #expect(try await database.rows("SELECT 1 FROM nodes").isEmpty)
                #expect(!SecureFile.exists(directory.migratedMarker))
            }
            // An edited audit entry: nothing is moved.
            try fixture.sqlite.write { db in try db.execute(sql: "UPDATE audit_log SET target = 'other' WHERE sequence = 2") }
            try await PostgresTestDatabase.with { database in
                await expectCoordinatorError(.invalidRequest) {
                    _ = try await FleetMigration.run(directory: directory, into: database, logger: Self.quiet)
                }
                // Refused before the database is touched: not even the schema is there.
                let tables = try await database.rows("SELECT 1 FROM information_schema.tables WHERE table_name = 'nodes'")
                #expect(tables.isEmpty)
            }
        }
    }
}
