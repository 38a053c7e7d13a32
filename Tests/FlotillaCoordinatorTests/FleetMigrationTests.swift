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
                // board-a's latest state says its local model does not answer; board-b has none.
                if index == 0 { readings.localModel = "down" }
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
        // Pruning keeps its boundary as a SQLite REAL in `settings`, a bytea column on PostgreSQL.
        _ = try await storage.ledger.pruneRecords(before: start)
        // Release files up to 4 MiB each: more than one page and one statement of them.
        try fixture.sqlite.write { db in
            for index in 0..<20 {
                let data = Data(repeating: UInt8(index), count: 400_000 + index)
                try db.execute(sql: "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                               arguments: [String(format: "%064x", index), data.count, data])
            }
        }
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
                let views = try await target.store.nodeViews(group: nil, now: end, interval: 15)
                #expect(views.map(\.name) == ["board-a", "board-b"])
                #expect(views.map(\.localModel) == ["down", nil])
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
                let keptFrom = try await (try #require(source.ledger as? SQLiteUsageLedger)).recordsKeptFrom()
                #expect(keptFrom != nil)
                let movedKeptFrom = try await database.transaction { connection in try await PostgresUsageLedger.keptFrom(connection, Self.quiet) }
                #expect(movedKeptFrom == keptFrom)
                let blobs = try await database.rows("SELECT sha256, length(data) AS n, get_byte(data, 0) AS b FROM blobs ORDER BY sha256")
                let copiedBlobs = try blobs.map { row in
                    (try row.get("sha256", as: String.self), try row.get("n", as: Int.self), try row.get("b", as: Int.self))
                }
                #expect(copiedBlobs.map(\.0) == (0..<20).map { String(format: "%064x", $0) })
                #expect(copiedBlobs.map(\.1) == (0..<20).map { 400_000 + $0 })
                #expect(copiedBlobs.map(\.2) == Array(0..<20))
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
            // Two names that differ only in case (possible in a database older than v5): named, nothing moved.
            try fixture.sqlite.write { db in
                try db.execute(sql: """
                    DROP INDEX nodes_name_nocase;
                    CREATE TEMP TABLE twin AS SELECT * FROM nodes WHERE name = 'board-a';
                    UPDATE twin SET id = 'twin-node', name = 'Board-A';
                    INSERT INTO nodes SELECT * FROM twin;
                    """)
            }
            try await PostgresTestDatabase.with { database in
                let error = await expectCoordinatorError(.invalidRequest) {
                    _ = try await FleetMigration.run(directory: directory, into: database, logger: Self.quiet)
                }
                let message = error?.message ?? ""
                #expect(message.contains("\"board-a\" and \"Board-A\" (node twin-node)"), "\(message)")
                let nodes = try await database.rows("SELECT 1 FROM nodes")
                #expect(nodes.isEmpty)
            }
            try fixture.sqlite.write { db in try db.execute(sql: "DELETE FROM nodes WHERE id = 'twin-node'") }
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

    @Test func pagesFollowACompositeKeyWithoutSkippingOrRepeatingARow() async throws {
        guard Backend.available.contains(.postgres) else { return }
        try await StoreFixture.with(.sqlite) { fixture in
            _ = try await Self.seed(fixture)
            _ = try await fixture.store.rollUpHeartbeats()
            let store = try #require(fixture.storage?.store as? SQLiteStore)
            let expected = try store.read { db in try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeat_minutes") ?? 0 }
            #expect(expected == 12)
            try await PostgresTestDatabase.with { database in
                try await PostgresSchema.migrate(database)
                let copied = try await database.transaction { connection in
                    let target = try await TargetSchema.read(connection, Self.quiet)
                    // Pages of 5 over a (node_id, minute) key: the second node's rows start mid-page.
                    return try await MigrationTable(name: "heartbeat_minutes", target: target, pageRows: 5)
                        .copy(from: store, into: connection, logger: Self.quiet)
                }
                #expect(copied.sourceCount == expected && copied.copied == expected)
                let keys = try await database.rows("SELECT count(DISTINCT (node_id, minute)) AS n FROM heartbeat_minutes")
                #expect(try keys.first?.get("n", as: Int64.self) == expected)
            }
        }
    }
}
