import FlotillaProtocol
import Foundation
import GRDB

/// `SealedSecretStore` in the coordinator's SQLite file (`provider_secrets`).
struct SQLiteSealedSecrets: SealedSecretStore {
    let store: SQLiteStore

    func putSealed(_ secret: SealedSecret) async throws(CoordinatorError) {
        try store.write { db in
            try db.execute(
                sql: """
                    INSERT INTO provider_secrets (provider, sealed, set_at) VALUES (?, ?, ?)
                    ON CONFLICT(provider) DO UPDATE SET sealed = excluded.sealed, set_at = excluded.set_at
                    """,
                arguments: [secret.provider, Data(secret.sealed), secret.setAt.timeIntervalSince1970]
            )
        }
    }

    func deleteSealed(provider: String) async throws(CoordinatorError) -> Bool {
        try store.write { db in
            try db.execute(sql: "DELETE FROM provider_secrets WHERE provider = ?", arguments: [provider])
            return db.changesCount > 0
        }
    }

    func allSealed() async throws(CoordinatorError) -> [SealedSecret] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT provider, sealed, set_at FROM provider_secrets ORDER BY provider").map {
                SealedSecret(provider: $0["provider"], sealed: Array($0["sealed"] as Data), setAt: Date(timeIntervalSince1970: $0["set_at"]))
            }
        }
    }
}
