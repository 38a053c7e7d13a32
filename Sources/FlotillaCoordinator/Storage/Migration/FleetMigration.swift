import FlotillaProtocol
import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// `flotilla migrate --to postgres://...`: moves a stopped coordinator's embedded fleet
/// (`DATA/flotilla.sqlite`) into an empty PostgreSQL database, so the same data directory then
/// serves with `--database` and the nodes carry on with the certificates, keys and releases
/// they have.
///
/// Every table is copied row for row in one PostgreSQL transaction (the two schemas share their
/// tables and columns; times are epoch seconds in both), the counts are compared and the audit
/// chain is verified inside that transaction before it commits: a failed migration leaves the
/// database as it was. The SQLite file keeps its data and stays as the fallback: it is opened as
/// `serve` opens it (its schema brought up to date, reservations left open by a stop charged) and
/// its heartbeat roll-up finished, nothing else is written; a marker in the data directory stops
/// `serve` from carrying on with it unnoticed.
package enum FleetMigration {
    /// What was copied.
    package struct Report: Sendable {
        /// Rows per table, in copy order.
        package var tables: [(name: String, rows: Int64)]
        /// Audit entries verified on the target (chain and sealed head).
        package var auditEntries: Int
    }

    /// Runs the migration of `directory`'s fleet to `url`.
    package static func run(directory: DataDirectory, to url: DatabaseURL, passwordFile: String?, logger: Logger) async throws(CoordinatorError)
        -> Report
    {
        let pool = try PostgresPool(url: url, passwordFile: passwordFile, maxConnections: 2, logger: logger)
        return try await PostgresPool.mapped {
            try await pool.whileRunning { try await run(directory: directory, into: pool, logger: logger) }
        }
    }

    /// Runs the migration into `pool`'s database (its client running).
    static func run(directory: DataDirectory, into pool: PostgresPool, logger: Logger) async throws(CoordinatorError) -> Report {
        guard SecureFile.exists(directory.database) else {
            throw .invalidRequest("there is no embedded fleet at \(directory.database): is --data-dir the coordinator's data directory?")
        }
        if let moved = try? SecureFile.read(directory.migratedMarker) {
            throw .invalidRequest("this fleet was already \(moved.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        try await refuseIfRunning(directory)
        let (masterKey, _) = try MasterKey.load(path: directory.masterKey, create: false)
        let source = try CoordinatorStorage.sqlite(directory: directory, logger: logger)
        guard let store = source.store as? SQLiteStore else { throw .internal("the embedded storage is not SQLite") }
        let sourceAudit = try await source.audit.verify()
        guard sourceAudit.problems.isEmpty else {
            throw .invalidRequest("the audit chain does not verify, so it is not moved (flotilla audit verify names the entries): "
                                  + sourceAudit.problems.joined(separator: "; "))
        }
        try await PostgresSchema.migrate(pool)
        let audit = PostgresAuditLog(database: pool, headPath: directory.auditHead, masterKey: masterKey)
        let report = try await pool.transaction { connection in
            try await copy(from: store, into: connection, audit: audit, logger: logger)
        }
        let moved = "moved to \(pool.name) by flotilla migrate at \(Timestamps.rfc3339(Date())): serve with --database \(pool.name)"
        do { try SecureFile.write(moved + "\n", to: directory.migratedMarker, mode: 0o600) } catch {
            throw .internal("the fleet was copied, but \(directory.migratedMarker) could not be written: \(error)")
        }
        return report
    }

    /// Refuses while a coordinator still answers at this data directory's admin URL: a running
    /// one would go on changing the file after the copy.
    static func refuseIfRunning(_ directory: DataDirectory) async throws(CoordinatorError) {
        guard let text = try? SecureFile.read(directory.adminURL),
              let components = URLComponents(string: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              let host = components.host, let port = components.port
        else { return }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.seconds(2))
        guard let channel = try? await bootstrap.connect(host: host, port: port).get() else { return }
        try? await channel.close()
        throw .invalidRequest("the coordinator is running (it answers at \(host):\(port)): stop it, then migrate")
    }

    /// Copies every table inside `connection`'s transaction, checks counts and the audit chain.
    private static func copy(from store: SQLiteStore, into connection: PostgresConnection, audit: PostgresAuditLog,
                             logger: Logger) async throws -> Report {
        let target = try await TargetSchema.read(connection, logger)
        let sourceTables = try store.read { db in try MigrationTable.sourceTables(db) }
        if let unknown = sourceTables.first(where: { !MigrationTable.order.contains($0) }) {
            throw CoordinatorError.internal("the embedded database has a table this version cannot move: \(unknown)")
        }
        for table in MigrationTable.order where try await !connection.rows(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table) LIMIT 1"), logger).isEmpty {
            throw CoordinatorError.invalidRequest("the database already holds a fleet (table \(table) has rows): migrate into an empty database")
        }
        try refuseCaseCollisions(store)
        let rolledUpTo = try await MigrationTable.finishRollup(store)
        var report = Report(tables: [], auditEntries: 0)
        for table in MigrationTable.order where sourceTables.contains(table) {
            let copied = try await MigrationTable(name: table, target: target).copy(from: store, into: connection, logger: logger)
            let stored = try await count(table, connection, logger)
            guard stored == copied.sourceCount else {
                throw CoordinatorError.internal("\(table): \(copied.sourceCount) rows in the embedded database, \(stored) copied")
            }
            report.tables.append((table, stored))
        }
        try await carryOverBookkeeping(rolledUpTo: rolledUpTo, into: connection, logger: logger)
        let last = try await connection.rows("SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1", logger).first
        if let last {
            try await audit.sealHead(sequence: try last.get("sequence"), hash: try last.get("hash"), on: connection)
        }
        let verification = try await audit.verify(on: connection)
        guard verification.problems.isEmpty else {
            throw CoordinatorError.internal("the copied audit chain does not verify: " + verification.problems.joined(separator: "; "))
        }
        report.auditEntries = verification.entries
        return report
    }

    /// Names that differ only in case: an embedded fleet older than v5 may hold such a pair, which
    /// PostgreSQL's store (like enrollment since) refuses. Named here rather than failing on the
    /// unique index with the database's own words.
    static func refuseCaseCollisions(_ store: SQLiteStore) throws {
        let pairs = try store.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.name AS first, a.id AS first_id, b.name AS second, b.id AS second_id FROM nodes a JOIN nodes b
                ON lower(a.name) = lower(b.name) AND a.id < b.id ORDER BY a.name
                """)
        }
        guard !pairs.isEmpty else { return }
        let named = pairs.map { row -> String in
            let first: String = row["first"], second: String = row["second"], secondID: String = row["second_id"]
            return "\"\(first)\" and \"\(second)\" (node \(secondID))"
        }
        throw CoordinatorError.invalidRequest("""
            node names that differ only in case cannot move (names are case-insensitive on PostgreSQL): \(named.joined(separator: ", ")); \
            rename one of each pair in the embedded fleet (sqlite3 flotilla.sqlite "UPDATE nodes SET name = 'NEW' WHERE id = 'ID'") and migrate again
            """)
    }

    /// What the two backends keep differently: the heartbeat roll-up's cursor (a rowid in
    /// SQLite, a time in PostgreSQL) and the id sequences PostgreSQL hands out next.
    private static func carryOverBookkeeping(rolledUpTo: Double?, into connection: PostgresConnection, logger: Logger) async throws {
        if let rolledUpTo {
            try await connection.execute("""
                INSERT INTO settings (key, value) VALUES (\(PostgresStore.rollupCursorKey), convert_to(\(String(rolledUpTo)), 'UTF8'))
                """, logger)
        }
        for (table, column) in [("usage", "id"), ("events", "id")] {
            try await connection.execute(PostgresQuery(unsafeSQL: """
                SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), COALESCE((SELECT max(\(column)) FROM \(table)), 0) + 1, false)
                """), logger)
        }
    }

    private static func count(_ table: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        let rows = try await connection.rows(PostgresQuery(unsafeSQL: "SELECT count(*) AS n FROM \(table)"), logger)
        return try rows.first?.get("n", as: Int64.self) ?? 0
    }
}
