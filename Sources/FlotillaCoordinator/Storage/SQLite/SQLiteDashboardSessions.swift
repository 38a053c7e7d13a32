import Foundation
import GRDB

/// `DashboardSessionStore` in the coordinator's SQLite file (`dashboard_sessions`).
struct SQLiteDashboardSessions: DashboardSessionStore {
    let store: SQLiteStore

    static let schema = """
        CREATE TABLE dashboard_sessions (
            id_hash TEXT PRIMARY KEY NOT NULL,
            signed_in_with TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID;
        """

    func insert(_ session: DashboardSession) async throws(CoordinatorError) {
        try store.write { db in
            try db.execute(sql: "INSERT INTO dashboard_sessions VALUES (?, ?, ?, ?, ?)", arguments: [
                session.idHash, session.signedInWith, session.source, session.createdAt.timeIntervalSince1970,
                session.expiresAt.timeIntervalSince1970,
            ])
        }
    }

    func session(idHash: String, now: Date) async throws(CoordinatorError) -> DashboardSession? {
        try store.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM dashboard_sessions WHERE id_hash = ? AND expires_at > ?",
                             arguments: [idHash, now.timeIntervalSince1970]).map {
                DashboardSession(idHash: $0["id_hash"], signedInWith: $0["signed_in_with"], source: $0["source"],
                                 createdAt: Date(timeIntervalSince1970: $0["created_at"]), expiresAt: Date(timeIntervalSince1970: $0["expires_at"]))
            }
        }
    }

    func delete(idHash: String) async throws(CoordinatorError) {
        try store.write { db in try db.execute(sql: "DELETE FROM dashboard_sessions WHERE id_hash = ?", arguments: [idHash]) }
    }

    func deleteAll() async throws(CoordinatorError) {
        try store.write { db in try db.execute(sql: "DELETE FROM dashboard_sessions") }
    }

    func deleteExpired(now: Date) async throws(CoordinatorError) {
        try store.write { db in
            try db.execute(sql: "DELETE FROM dashboard_sessions WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
        }
    }
}
