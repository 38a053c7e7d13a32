import FlotillaProtocol
import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// One table's copy from the embedded SQLite file into PostgreSQL (`FleetMigration`): its rows
/// read page by page, each value converted to the PostgreSQL column's type, inserted in
/// multi-row statements.
struct MigrationTable {
    /// Every table of the embedded schema, parents before the rows that reference them.
    static let order = [
        "settings", "enrollment_tokens", "nodes", "node_state", "heartbeats", "heartbeat_minutes",
        "root_documents", "blobs", "releases", "release_blobs", "rollouts", "rollout_groups", "rollout_targets", "node_releases",
        "provider_secrets", "gateway_keys", "gateway_configs", "price_tables", "usage", "usage_daily",
        "budget_counters", "budget_reservations", "events", "audit_log", "dashboard_sessions",
    ]
    /// The owner given to reservations still open when the coordinator stopped: no live
    /// coordinator has it, so the database's sweeper charges them as abandoned, as a restarted
    /// SQLite coordinator would.
    static let migratedOwner = "migrated-from-sqlite"
    /// Values for PostgreSQL columns the SQLite schema does not have and that have no default.
    static let fills: [String: [String: String]] = ["budget_reservations": ["coordinator_id": migratedOwner]]
    /// Rows that are SQLite bookkeeping, not fleet data (carried over in PostgreSQL's own form).
    static let skippedRows: [String: String] = ["settings": "key <> '\(SQLiteStore.rollupCursorKey)'"]
    /// Rows per page read from SQLite.
    static let pageRows = 2000

    let name: String
    let target: [TargetSchema.Column]

    init(name: String, target schema: TargetSchema) throws {
        guard let columns = schema.tables[name] else { throw CoordinatorError.internal("the database has no table \(name): is its schema older?") }
        self.name = name
        target = columns
    }

    /// The embedded database's tables (its migration bookkeeping left out).
    static func sourceTables(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
    }

    /// Whether `table` has SQLite's rowid (pages are then read by it; `WITHOUT ROWID` tables by
    /// their primary key).
    static func hasRowID(_ table: String, _ db: Database) throws -> Bool {
        let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", arguments: [table]) ?? ""
        return !sql.uppercased().contains("WITHOUT ROWID")
    }

    /// The newest `received_at` the SQLite roll-up already summarised (its cursor is a rowid),
    /// or nil when it summarised none of the raw rows kept.
    static func rolledUpUntil(_ db: Database) throws -> Double? {
        var cursor = try SQLiteStore.rollupCursor(db)
        guard let newest = try Int64.fetchOne(db, sql: "SELECT MAX(rowid) FROM heartbeats") else { return nil }
        if newest < cursor { cursor = try Int64.fetchOne(db, sql: "SELECT MIN(rowid) - 1 FROM heartbeats") ?? 0 }
        return try Double.fetchOne(db, sql: "SELECT MAX(received_at) FROM heartbeats WHERE rowid <= ?", arguments: [cursor])
    }

    /// Copies the table; returns how many rows the source holds (to compare with the target).
    func copy(from store: SQLiteStore, into connection: PostgresConnection, logger: Logger) async throws -> (sourceCount: Int64, copied: Int64) {
        let filter = Self.skippedRows[name].map { " WHERE \($0)" } ?? ""
        let (sourceColumns, byRowID, sourceCount) = try store.read { db in
            (try db.columns(in: name).map(\.name), try Self.hasRowID(name, db),
             try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM \(name)\(filter)") ?? 0)
        }
        let fills = Self.fills[name] ?? [:]
        for column in sourceColumns where !target.contains(where: { $0.name == column }) {
            throw CoordinatorError.internal("\(name).\(column) has no column to go to in the database")
        }
        for column in target where !sourceColumns.contains(column.name) && !column.optional && fills[column.name] == nil {
            throw CoordinatorError.internal("\(name).\(column.name) has no value in the embedded database")
        }
        let copied = target.filter { sourceColumns.contains($0.name) }
        let filled = target.filter { !sourceColumns.contains($0.name) && fills[$0.name] != nil }
        let columnList = (copied + filled).map(\.name).joined(separator: ", ")
        let selected = copied.map { "\"\($0.name)\"" }.joined(separator: ", ")
        let order = try store.read { db in try db.primaryKey(name).columns }.map { "\"\($0)\"" }.joined(separator: ", ")
        let perStatement = max(1, 20_000 / max(1, copied.count + filled.count))
        var lastRowID = Int64.min
        var offset = 0
        var total: Int64 = 0
        while true {
            let page: [Row] = try store.read { db in
                if byRowID {
                    let keyed = filter.isEmpty ? " WHERE rowid > ?" : filter + " AND rowid > ?"
                    return try Row.fetchAll(db, sql: "SELECT rowid AS migration_rowid, \(selected) FROM \(name)\(keyed) ORDER BY rowid LIMIT \(Self.pageRows)",
                                            arguments: [lastRowID])
                }
                return try Row.fetchAll(db, sql: "SELECT \(selected) FROM \(name)\(filter) ORDER BY \(order) LIMIT \(Self.pageRows) OFFSET \(offset)")
            }
            if page.isEmpty { break }
            if byRowID, let last = page.last { lastRowID = last["migration_rowid"] }
            offset += page.count
            for start in stride(from: 0, to: page.count, by: perStatement) {
                let rows = page[start..<min(page.count, start + perStatement)]
                try await insert(rows, columns: copied, filled: filled.map { fills[$0.name] ?? "" }, columnList: columnList, connection, logger)
            }
            total += Int64(page.count)
        }
        return (sourceCount, total)
    }

    private func insert(_ rows: ArraySlice<Row>, columns: [TargetSchema.Column], filled: [String], columnList: String,
                        _ connection: PostgresConnection, _ logger: Logger) async throws {
        var bindings = PostgresBindings(capacity: rows.count * (columns.count + filled.count))
        var tuples: [String] = []
        var index = 0
        for row in rows {
            var placeholders: [String] = []
            for column in columns {
                try Self.bind(row[column.name] as DatabaseValue, as: column, table: name, into: &bindings)
                index += 1
                placeholders.append("$\(index)")
            }
            for value in filled {
                bindings.append(value)
                index += 1
                placeholders.append("$\(index)")
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let sql = "INSERT INTO \(name) (\(columnList)) VALUES " + tuples.joined(separator: ", ")
        try await connection.execute(PostgresQuery(unsafeSQL: sql, binds: bindings), logger)
    }

    /// Appends `value` converted to `column`'s PostgreSQL type (SQLite's booleans are integers,
    /// its REAL columns may hold integers, its blobs are bytea).
    static func bind(_ value: DatabaseValue, as column: TargetSchema.Column, table: String, into bindings: inout PostgresBindings) throws {
        let mismatch = CoordinatorError.internal("\(table).\(column.name) holds a value that is not \(column.type)")
        switch (value.storage, column.type) {
        case (.null, _): bindings.appendNull()
        case (.int64(let number), "bigint"), (.int64(let number), "integer"), (.int64(let number), "smallint"): bindings.append(number)
        case (.int64(let number), "double precision"): bindings.append(Double(number))
        case (.double(let number), "double precision"): bindings.append(number)
        case (.int64(let number), "boolean"): bindings.append(number != 0)
        case (.string(let text), "text"): bindings.append(text)
        case (.blob(let data), "bytea"): bindings.append(ByteBuffer(bytes: data))
        case (.string(let text), "bytea"): bindings.append(ByteBuffer(bytes: Array(text.utf8)))
        case (.blob(let data), "text"):
            guard let text = String(validating: data, as: UTF8.self) else { throw mismatch }
            bindings.append(text)
        default: throw mismatch
        }
    }
}

/// The PostgreSQL tables' columns and types, as the server reports them.
struct TargetSchema {
    struct Column {
        let name: String
        /// `information_schema`'s `data_type`: bigint, double precision, text, bytea, boolean…
        let type: String
        /// Nullable or with a default: may be left out of an insert.
        let optional: Bool
    }

    let tables: [String: [Column]]

    static func read(_ connection: PostgresConnection, _ logger: Logger) async throws -> TargetSchema {
        let rows = try await connection.rows("""
            SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d,
                   (column_default IS NOT NULL OR is_nullable = 'YES') AS optional
            FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
            """, logger)
        var tables: [String: [Column]] = [:]
        for row in rows {
            tables[try row.get("t", as: String.self), default: []].append(
                Column(name: try row.get("c"), type: try row.get("d"), optional: try row.get("optional")))
        }
        return TargetSchema(tables: tables)
    }
}
