import FlotillaProtocol
import Foundation

/// A provider key as listed: its name and when it was set, never its value.
struct StoredSecret: Sendable, Equatable {
    var provider: String
    var setAt: Date
}

/// Where provider API keys live, encrypted at rest. The gateway asks it for a key on every call,
/// so implementations answer from memory; the admin API sets, lists and deletes keys.
///
/// The SQLite implementation is `SQLiteSecretVault`; a shared database backend for several
/// coordinators implements the same protocol.
protocol SecretVault: Sendable {
    /// Stores (or replaces) the key of `provider`; returns when it is durable.
    func setSecret(provider: String, value: String, now: Date) async throws(CoordinatorError)
    /// Deletes the key of `provider`; false when there was none.
    func deleteSecret(provider: String) async throws(CoordinatorError) -> Bool
    /// Every stored key's provider and time set, by provider name.
    func listSecrets() async throws(CoordinatorError) -> [StoredSecret]
    /// The plain key of `provider`, or nil when none is set.
    func secret(provider: String) async throws(CoordinatorError) -> String?
}
