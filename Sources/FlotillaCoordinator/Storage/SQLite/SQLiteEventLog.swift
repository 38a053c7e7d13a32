import FlotillaProtocol
import Foundation
import GRDB

/// `EventLog` in the coordinator's SQLite file (`events`). Events are rare (once per scope and
/// period, or per minute), so each is its own transaction.
struct SQLiteEventLog: EventLog {
    let store: SQLiteStore

    static let schema = """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            message TEXT NOT NULL,
            once_key TEXT UNIQUE
        );
        CREATE INDEX events_at ON events(at);
        """

    func append(_ event: FleetEvent, onceAs key: String?) async throws(CoordinatorError) {
        do {
            try await store.pool.write { db in
                try db.execute(
                    sql: "INSERT OR IGNORE INTO events (at, kind, scope, message, once_key) VALUES (?, ?, ?, ?, ?)",
                    arguments: [event.at.timeIntervalSince1970, event.kind.rawValue, event.scope, event.message, key]
                )
            }
        } catch {
            throw .internal("event not stored: \(error)")
        }
    }

    func events(since: Date, limit: Int) async throws(CoordinatorError) -> [FleetEvent] {
        do {
            return try await store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM events WHERE at >= ? ORDER BY at DESC, id DESC LIMIT ?",
                                 arguments: [since.timeIntervalSince1970, limit]).map {
                    FleetEvent(at: Date(timeIntervalSince1970: $0["at"]), kind: EventKind(rawValue: $0["kind"]) ?? .rateLimited,
                               scope: $0["scope"], message: $0["message"])
                }
            }
        } catch {
            throw .internal("events unreadable: \(error)")
        }
    }
}
