import FlotillaProtocol
import Foundation
import GRDB
import Synchronization

/// `SecretVault` in the coordinator's SQLite file: each key is sealed with the master key
/// (AES-256-GCM, the provider name as associated data) in `provider_secrets`. Opened keys are
/// kept in memory, so the gateway's hot path never touches the database or the cipher.
final class SQLiteSecretVault: SecretVault {
    private let store: Store
    private let masterKey: MasterKey
    /// Provider → plain key, or nil for a sealed key that does not open (tampered, or moved from
    /// another row); the whole map is nil until loaded. A generation bumped by every change keeps
    /// a load that raced a change from installing what it read before it.
    private let cache = Mutex<(generation: Int, values: [String: String?]?)>((0, nil))

    static let checkSetting = "vault_master_key_check"
    static let checkText = "flotilla vault check"

    /// Opens the vault; throws when `masterKey` is not the key this database's secrets were
    /// sealed with (so a wrong `FLOTILLA_MASTER_KEY` fails at start, not at the first call).
    init(store: Store, masterKey: MasterKey) throws(CoordinatorError) {
        self.store = store
        self.masterKey = masterKey
        let existing: [UInt8]?
        do { existing = try store.setting(Self.checkSetting) } catch { throw .internal("cannot read the vault check") }
        if let existing {
            guard (try? masterKey.open(existing, context: Self.checkSetting)) == Array(Self.checkText.utf8) else {
                throw .internal("the master key does not match this database: provider keys were sealed with another key (master.key or \(MasterKey.environmentVariable) changed?)")
            }
        } else {
            let sealed = try masterKey.seal(Array(Self.checkText.utf8), context: Self.checkSetting)
            do { try store.setSetting(Self.checkSetting, sealed) } catch { throw .internal("cannot store the vault check") }
        }
    }

    static func context(_ provider: String) -> String { "flotilla provider key:" + provider }

    func setSecret(provider: String, value: String, now: Date) async throws(CoordinatorError) {
        let sealed = try masterKey.seal(Array(value.utf8), context: Self.context(provider))
        try store.write { db in
            try db.execute(
                sql: """
                    INSERT INTO provider_secrets (provider, sealed, set_at) VALUES (?, ?, ?)
                    ON CONFLICT(provider) DO UPDATE SET sealed = excluded.sealed, set_at = excluded.set_at
                    """,
                arguments: [provider, Data(sealed), now.timeIntervalSince1970]
            )
        }
        invalidate()
    }

    private func invalidate() {
        cache.withLock { $0 = ($0.generation + 1, nil) }
    }

    func deleteSecret(provider: String) async throws(CoordinatorError) -> Bool {
        let deleted = try store.write { db in
            try db.execute(sql: "DELETE FROM provider_secrets WHERE provider = ?", arguments: [provider])
            return db.changesCount > 0
        }
        invalidate()
        return deleted
    }

    func listSecrets() async throws(CoordinatorError) -> [StoredSecret] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT provider, set_at FROM provider_secrets ORDER BY provider").map {
                StoredSecret(provider: $0["provider"], setAt: Date(timeIntervalSince1970: $0["set_at"]))
            }
        }
    }

    func secret(provider: String) async throws(CoordinatorError) -> String? {
        let (generation, values) = cache.withLock { $0 }
        if let values { return try Self.value(values, provider) }
        let rows = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT provider, sealed FROM provider_secrets").map {
                (provider: $0["provider"] as String, sealed: Array($0["sealed"] as Data))
            }
        }
        var opened: [String: String?] = [:]
        for row in rows {
            let value = (try? masterKey.open(row.sealed, context: Self.context(row.provider))).map { String(decoding: $0, as: UTF8.self) }
            opened.updateValue(value, forKey: row.provider)
        }
        cache.withLock { cached in
            if cached.generation == generation { cached.values = opened }
        }
        return try Self.value(opened, provider)
    }

    private static func value(_ values: [String: String?], _ provider: String) throws(CoordinatorError) -> String? {
        guard let entry = values[provider] else { return nil }
        guard let value = entry else { throw .internal("the stored key of provider \(provider) does not open with the master key; set it again") }
        return value
    }
}
