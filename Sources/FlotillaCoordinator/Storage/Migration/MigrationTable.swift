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
    /// Rows per page read from SQLite, and per INSERT at most.
    static let pageRows = 2000
    /// Bytes of values per INSERT at most (a statement is flushed once its rows pass this).
    static let statementBytes = 4 * 1024 * 1024
    /// Smaller pages for tables whose rows are large: a blob row holds a whole release file
    /// (up to `WireLimits.maxReleaseFileBytes`), so a page of them stays a few files in memory.
    static let pageRowsByTable = ["blobs": 8]

    let name: String
    let target: [TargetSchema.Column]
    let pageRows: Int

    init(name: String, target schema: TargetSchema, pageRows: Int? = nil) throws {
        guard let columns = schema.tables[name] else { throw CoordinatorError.internal("the database has no table \(name): is its schema older?") }
        self.name = name
        target = columns
        self.pageRows = pageRows ?? Self.pageRowsByTable[name] ?? Self.pageRows
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

    /// Finishes the SQLite roll-up, so every raw heartbeat kept is summarised, and returns the
    /// newest `received_at` among them (nil when there are none): PostgreSQL's roll-up cursor is
    /// a time, and with nothing left unsummarised it can start exactly there.
    static func finishRollup(_ store: SQLiteStore) async throws -> Double? {
        while try await store.rollUpHeartbeats(maxRows: 100_000) > 0 {}
        return try store.read { db in try Double.fetchOne(db, sql: "SELECT MAX(received_at) FROM heartbeats") }
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
        // Pages follow the key (rowid, or a WITHOUT ROWID table's primary key as a row value), so
        // each page is an index seek rather than an OFFSET that rereads every earlier row.
        let key = byRowID ? ["rowid"] : try store.read { db in try db.primaryKey(name).columns }.map { "\"\($0)\"" }
        let keyList = key.joined(separator: ", ")
        let keySelect = key.indices.map { "\(key[$0]) AS migration_key\($0)" }.joined(separator: ", ")
        let after = "(\(keyList)) > (\(key.map { _ in "?" }.joined(separator: ", ")))"
        let perStatement = max(1, min(Self.pageRows, 20_000 / max(1, copied.count + filled.count)))
        var last: [DatabaseValue]?
        var total: Int64 = 0
        while true {
            let page: [Row] = try store.read { [last] db in
                var conditions = Self.skippedRows[name].map { [$0] } ?? []
                if last != nil { conditions.append(after) }
                let condition = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
                return try Row.fetchAll(db, sql: "SELECT \(keySelect), \(selected) FROM \(name)\(condition) ORDER BY \(keyList) LIMIT \(pageRows)",
                                        arguments: StatementArguments(last ?? []))
            }
            guard let final = page.last else { break }
            last = key.indices.map { final["migration_key\($0)"] as DatabaseValue }
            var start = page.startIndex
            var bytes = 0
            for index in page.indices {
                bytes += Self.size(of: page[index], columns: copied)
                if index + 1 == page.endIndex || index + 1 - start == perStatement || bytes >= Self.statementBytes {
                    try await insert(page[start...index], columns: copied, filled: filled.map { fills[$0.name] ?? "" },
                                     columnList: columnList, connection, logger)
                    start = index + 1
                    bytes = 0
                }
            }
            total += Int64(page.count)
        }
        return (sourceCount, total)
    }

    /// About how many bytes `row`'s values take in a statement.
    static func size(of row: Row, columns: [TargetSchema.Column]) -> Int {
        columns.reduce(0) { sum, column in
            switch (row[column.name] as DatabaseValue).storage {
            case .blob(let data): sum + data.count
            case .string(let text): sum + text.utf8.count
            default: sum + 8
            }
        }
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
    /// its REAL columns may hold integers, its blobs are bytea; a number kept in a bytea column,
    /// as a setting, becomes the decimal text PostgreSQL's store reads back with `convert_from`).
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
        case (.int64(let number), "bytea"): bindings.append(ByteBuffer(bytes: Array(String(number).utf8)))
        case (.double(let number), "bytea"): bindings.append(ByteBuffer(bytes: Array(String(number).utf8)))
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
