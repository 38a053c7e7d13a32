import GRDB
import GRDBSQLite

/// Binds parameters straight through SQLite's C API and steps the statement.
///
/// Used only in the heartbeat writer's inner loop, where GRDB's general `StatementArguments`
/// (an array of boxed values per row) was a measurable share of each heartbeat's cost.
struct SQLiteBinder {
    private let statement: OpaquePointer
    private var index: Int32 = 1

    init(_ statement: Statement) {
        self.statement = statement.sqliteStatement
    }

    mutating func bind(_ value: String?) {
        if let value {
            sqlite3_bind_text(statement, index, value, -1, Self.transient)
        } else {
            sqlite3_bind_null(statement, index)
        }
        index += 1
    }

    mutating func bind(_ value: Double?) {
        if let value { sqlite3_bind_double(statement, index, value) } else { sqlite3_bind_null(statement, index) }
        index += 1
    }

    mutating func bind(_ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
        index += 1
    }

    /// Runs the statement to completion and resets it for the next row.
    func execute(in db: Database) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// SQLite copies the bound text (the Swift string's storage is only borrowed for the call).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
