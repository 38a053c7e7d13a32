import FlotillaProtocol
import Foundation
import GRDB

/// `FleetStore` in the coordinator's SQLite database: one file in the data directory, WAL mode,
/// `synchronous=FULL` so that a commit is on disk before any request that depends on it is
/// acknowledged. The embedded default: no server to run, one coordinator.
///
/// Readers run concurrently with the single writer (GRDB's `DatabasePool`).
public final class SQLiteStore: FleetStore, Sendable {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 64 MiB of page cache: the node-state and time-series indexes of a large fleet stay in
            // memory instead of being re-read through the OS on every commit.
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
        chmod(path, 0o600)
    }

    /// Versioned schema migrations. Never edit a shipped migration; add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE settings (
                        key TEXT PRIMARY KEY NOT NULL,
                        value BLOB NOT NULL
                    );
                    CREATE TABLE enrollment_tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        token_hash BLOB NOT NULL UNIQUE,
                        group_name TEXT NOT NULL,
                        uses INTEGER NOT NULL,
                        uses_left INTEGER NOT NULL,
                        require_approval INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        revoked_at REAL
                    );
                    CREATE TABLE nodes (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        group_name TEXT NOT NULL,
                        admin_state TEXT NOT NULL,
                        enrolled_at REAL NOT NULL,
                        token_id TEXT REFERENCES enrollment_tokens(id),
                        certificate_expires_at REAL NOT NULL,
                        state_changed_at REAL NOT NULL
                    );
                    CREATE INDEX nodes_group ON nodes(group_name);
                    CREATE TABLE node_state (
                        node_id TEXT PRIMARY KEY NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
                        last_seen REAL NOT NULL,
                        sequence INTEGER,
                        agent_version TEXT,
                        arch TEXT,
                        kernel TEXT,
                        uptime_seconds REAL,
                        load_1m REAL,
                        load_5m REAL,
                        load_15m REAL,
                        cpu_percent REAL,
                        mem_total_bytes INTEGER,
                        mem_available_bytes INTEGER,
                        disk_total_bytes INTEGER,
                        disk_free_bytes INTEGER,
                        temperature_c REAL,
                        temperatures TEXT
                    ) WITHOUT ROWID;
                    CREATE TABLE heartbeats (
                        node_id TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        cpu_percent REAL,
                        load_1m REAL,
                        mem_available_bytes INTEGER,
                        disk_free_bytes INTEGER,
                        temperature_c REAL,
                        uptime_seconds REAL
                    );
                    -- Append-only, deliberately without secondary indexes: rows arrive in time
                    -- order, so rowid order is time order (see SQLiteStore+Heartbeats.swift).
                    """
            )
        }
        migrator.registerMigration("v2-releases") { db in
            try db.execute(sql: Self.releasesSchema)
        }
        migrator.registerMigration("v3-gateway") { db in
            try db.execute(sql: Self.gatewaySchema)
        }
        migrator.registerMigration("v4-budgets") { db in
            try db.execute(sql: SQLiteUsageLedger.budgetSchema)
            try db.execute(sql: SQLiteEventLog.schema)
        }
        migrator.registerMigration("v5-hardening") { db in
            try db.execute(sql: """
                ALTER TABLE nodes ADD COLUMN certificate_serial TEXT;
                ALTER TABLE nodes ADD COLUMN pending_certificate_serial TEXT;
                ALTER TABLE nodes ADD COLUMN pending_certificate_expires_at REAL;
                DELETE FROM settings WHERE key = 'admin_token_sha256';
                """)
            // Enrollment refuses names that differ only in case; the index holds that in the
            // schema too, unless an older database already has such a pair (kept as it is).
            let collisions = try Int.fetchOne(db, sql: "SELECT COUNT(*) - COUNT(DISTINCT lower(name)) FROM nodes") ?? 0
            if collisions == 0 {
                try db.execute(sql: "CREATE UNIQUE INDEX nodes_name_nocase ON nodes(name COLLATE NOCASE)")
            }
        }
        migrator.registerMigration("v6-audit") { db in
            try db.execute(sql: SQLiteAuditLog.schema)
        }
        migrator.registerMigration("v7-operator-views") { db in
            try db.execute(sql: Self.heartbeatRollupSchema)
            try db.execute(sql: SQLiteDashboardSessions.schema)
            // A node page's spend per day reads one node's rows, not every node's.
            try db.execute(sql: "CREATE INDEX usage_daily_node ON usage_daily(node_id, day)")
            // A node page's release history.
            try db.execute(sql: "CREATE INDEX rollout_targets_node ON rollout_targets(node_id, version)")
        }
        migrator.registerMigration("v8-fallbacks") { db in
            // Attempts of a call that fell back to the model's next target (not counted in `calls`).
            try db.execute(sql: "ALTER TABLE usage_daily ADD COLUMN fallbacks INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v9-local-model") { db in
            // The latest heartbeat's word on the release's local model: 'up', 'down' or NULL (none).
            try db.execute(sql: "ALTER TABLE node_state ADD COLUMN local_model TEXT")
        }
        return migrator
    }

    // MARK: Settings

    func setting(_ key: String) async throws(CoordinatorError) -> [UInt8]? {
        try read { db in
            try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]).map { Array($0) }
        }
    }

    func setSetting(_ key: String, _ value: [UInt8]) async throws(CoordinatorError) {
        try write { db in
            try db.execute(
                sql: "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, Data(value)]
            )
        }
    }

    func settingOnce(_ key: String, _ value: [UInt8]) async throws(CoordinatorError) -> [UInt8] {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO settings(key, value) VALUES (?, ?)", arguments: [key, Data(value)])
            return try Data.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]).map { Array($0) } ?? value
        }
    }

    /// Runs `body` in a write transaction and rethrows a `CoordinatorError` it raised unchanged;
    /// any other failure is an internal error. Nothing is committed when `body` throws.
    func write<T>(_ body: (Database) throws -> T) throws(CoordinatorError) -> T {
        do {
            return try pool.write(body)
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("database write failed: \(error)")
        }
    }

    /// Runs `body` in a read transaction; failures are internal errors.
    func read<T>(_ body: (Database) throws -> T) throws(CoordinatorError) -> T {
        do {
            return try pool.read(body)
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("database read failed: \(error)")
        }
    }
}
