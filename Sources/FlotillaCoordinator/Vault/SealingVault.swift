import FlotillaProtocol
import Foundation
import Synchronization

/// `SecretVault` over any `SealedSecretStore`: each key is sealed with the master key
/// (AES-256-GCM, the provider name as associated data) before it reaches the store. Opened keys
/// are kept in memory, so the gateway's hot path never touches the database or the cipher; a
/// change made by another coordinator drops them (`invalidate`).
final class SealingVault: SecretVault {
    private let rows: any SealedSecretStore
    private let masterKey: MasterKey
    private let bus: any ClusterBus
    /// Provider → plain key, or nil for a sealed key that does not open (tampered, or moved from
    /// another row); the whole map is nil until loaded. A generation bumped by every change keeps
    /// a load that raced a change from installing what it read before it.
    private let cache = Mutex<(generation: Int, values: [String: String?]?)>((0, nil))

    static let checkSetting = "vault_master_key_check"
    static let checkText = "flotilla vault check"

    private init(rows: any SealedSecretStore, masterKey: MasterKey, bus: any ClusterBus) {
        self.rows = rows
        self.masterKey = masterKey
        self.bus = bus
    }

    /// Opens the vault; throws when `masterKey` is not the key this database's secrets were
    /// sealed with (so a wrong `FLOTILLA_MASTER_KEY`, or a coordinator joining with another
    /// data directory's key, fails at start, not at the first call).
    static func open(rows: any SealedSecretStore, settings: any SettingsStore, masterKey: MasterKey,
                     bus: any ClusterBus = LocalClusterBus()) async throws(CoordinatorError) -> SealingVault {
        let sealed = try masterKey.seal(Array(checkText.utf8), context: checkSetting)
        let check = try await settings.settingOnce(checkSetting, sealed)
        guard (try? masterKey.open(check, context: checkSetting)) == Array(checkText.utf8) else {
            throw .internal("the master key does not match this database: provider keys were sealed with another key (master.key or \(MasterKey.environmentVariable) changed?)")
        }
        return SealingVault(rows: rows, masterKey: masterKey, bus: bus)
    }

    static func context(_ provider: String) -> String { "flotilla provider key:" + provider }

    func setSecret(provider: String, value: String, now: Date) async throws(CoordinatorError) {
        let sealed = try masterKey.seal(Array(value.utf8), context: Self.context(provider))
        try await rows.putSealed(SealedSecret(provider: provider, sealed: sealed, setAt: now))
        invalidate()
        await bus.publish(.secrets)
    }

    /// Forgets the opened keys: the next call reads them again (after a change here or on
    /// another coordinator).
    func invalidate() {
        cache.withLock { $0 = ($0.generation + 1, nil) }
    }

    func deleteSecret(provider: String) async throws(CoordinatorError) -> Bool {
        let deleted = try await rows.deleteSealed(provider: provider)
        invalidate()
        await bus.publish(.secrets)
        return deleted
    }

    func listSecrets() async throws(CoordinatorError) -> [StoredSecret] {
        try await rows.allSealed().map { StoredSecret(provider: $0.provider, setAt: $0.setAt) }
    }

    func secret(provider: String) async throws(CoordinatorError) -> String? {
        let (generation, values) = cache.withLock { $0 }
        if let values { return try Self.value(values, provider) }
        var opened: [String: String?] = [:]
        for row in try await rows.allSealed() {
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
