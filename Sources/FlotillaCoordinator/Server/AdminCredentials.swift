import FlotillaProtocol
import Foundation
import HTTPTypes
import Synchronization

/// What authenticates an operator, kept in the data directory and never in the database, so
/// write access to `flotilla.sqlite` (or a copy of it) cannot mint an admin:
/// - `admin-token.sha256` (0600): SHA-256 of the admin token, replaced by `rotate()`;
/// - `local.key` (0600): a secret only someone who can read the data directory has. Exporting
///   or replacing the root key needs it as well as the admin token (the CLI sends it when run
///   with `--data-dir` on the coordinator's machine), so a stolen admin token cannot take the
///   fleet's root of trust.
/// - `metrics.token` (0600): what Prometheus presents to read `/metrics` (read-only, so it can
///   sit in a scrape config without handing out the admin token).
///
/// Coordinators sharing a database share the admin token (`share(via:masterKey:)`): its hash is
/// also kept in the store, sealed with the master key, so a rotation on one reaches the others,
/// and the database alone neither reveals the hash nor lets a writer plant one of its own.
final class AdminCredentials: Sendable {
    /// Where the shared verifier lives, once shared.
    private struct Sharing: Sendable {
        var store: any SettingsStore
        var masterKey: MasterKey
        var bus: any ClusterBus
    }

    static let sharedVerifier = "admin_token_hash_sealed"
    private static let sealContext = "flotilla admin token hash"
    private let sharing = Mutex<Sharing?>(nil)
    /// The header carrying `local.key`'s content.
    static let localKeyHeader = HTTPField.Name(AdminHeaders.localKey)!

    private let directory: DataDirectory
    /// Lowercase hex of the admin token's SHA-256, as `admin-token.sha256` holds it.
    private let tokenHashHex: Mutex<String>
    private let localKeyHash: [UInt8]
    private let metricsTokenHash: [UInt8]

    private init(directory: DataDirectory, tokenHashHex: String, localKeyHash: [UInt8], metricsTokenHash: [UInt8]) {
        self.directory = directory
        self.tokenHashHex = Mutex(tokenHashHex)
        self.localKeyHash = localKeyHash
        self.metricsTokenHash = metricsTokenHash
    }

    /// Loads the credentials of `directory`, creating what is missing. Returns the admin token
    /// when it was created now (first start), so `serve` can hand it to the operator once.
    ///
    /// A coordinator from before this file existed kept the hash in the database (a row the
    /// `v5-hardening` migration deletes): the hash is taken from `admin.token` when that file is
    /// still there, else a new token is created.
    static func loadOrCreate(directory: DataDirectory) throws -> (AdminCredentials, createdToken: String?) {
        var created: String?
        let hashHex: String
        if SecureFile.exists(directory.adminTokenHash) {
            hashHex = try SecureFile.read(directory.adminTokenHash).trimmingCharacters(in: .whitespacesAndNewlines)
            guard ReleaseAPI.isHexDigest(hashHex) else {
                throw CoordinatorError.internal("\(directory.adminTokenHash) is not a SHA-256 in lowercase hex")
            }
        } else {
            let token: String
            if SecureFile.exists(directory.adminToken) {
                token = try SecureFile.read(directory.adminToken).trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                token = Secrets.generateToken(prefix: "flt_admin_")
                try SecureFile.write(token + "\n", to: directory.adminToken, mode: 0o600)
                created = token
            }
            hashHex = Secrets.hex(Secrets.hash(token))
            try SecureFile.write(hashHex + "\n", to: directory.adminTokenHash, mode: 0o600)
        }
        if !SecureFile.exists(directory.localKey) {
            try SecureFile.write(Secrets.generateToken(prefix: "flt_local_") + "\n", to: directory.localKey, mode: 0o600)
        }
        let local = try SecureFile.read(directory.localKey).trimmingCharacters(in: .whitespacesAndNewlines)
        if !SecureFile.exists(directory.metricsToken) {
            try SecureFile.write(Secrets.generateToken(prefix: "flt_metrics_") + "\n", to: directory.metricsToken, mode: 0o600)
        }
        let metrics = try SecureFile.read(directory.metricsToken).trimmingCharacters(in: .whitespacesAndNewlines)
        let credentials = AdminCredentials(directory: directory, tokenHashHex: hashHex, localKeyHash: Secrets.hash(local),
                                           metricsTokenHash: Secrets.hash(metrics))
        return (credentials, created)
    }

    /// True when `token` is the current admin token (constant time).
    func isAdminToken(_ token: String) -> Bool {
        let presented = Array(Secrets.hex(Secrets.hash(token)).utf8)
        return tokenHashHex.withLock { Secrets.constantTimeEquals(presented, Array($0.utf8)) }
    }

    /// The admin token in force as the audit log and dashboard sessions name it:
    /// `admin-token/` and the first 8 hex digits of its SHA-256.
    var adminTokenFingerprint: String {
        "admin-token/" + tokenHashHex.withLock { String($0.prefix(8)) }
    }

    /// True when `token` is the content of `metrics.token` (constant time).
    func isMetricsToken(_ token: String) -> Bool {
        Secrets.constantTimeEquals(Secrets.hash(token), metricsTokenHash)
    }

    /// True when `key` is the content of `local.key` (constant time).
    func isLocalKey(_ key: String) -> Bool {
        Secrets.constantTimeEquals(Secrets.hash(key), localKeyHash)
    }

    /// Shares the admin token with the other coordinators of `store`: the hash stored there wins
    /// (it is the newest rotation) and replaces this data directory's; a fleet's first shared
    /// coordinator stores its own.
    func share(via store: any SettingsStore, masterKey: MasterKey, bus: any ClusterBus) async throws(CoordinatorError) {
        let mine = tokenHashHex.withLock { $0 }
        let sealed = try masterKey.seal(Array(mine.utf8), context: Self.sealContext)
        let stored = try await store.settingOnce(Self.sharedVerifier, sealed)
        sharing.withLock { $0 = Sharing(store: store, masterKey: masterKey, bus: bus) }
        try adopt(stored, masterKey: masterKey)
    }

    /// Takes the admin token hash another coordinator rotated to.
    func reload() async throws(CoordinatorError) {
        guard let sharing = sharing.withLock({ $0 }), let stored = try await sharing.store.setting(Self.sharedVerifier) else { return }
        try adopt(stored, masterKey: sharing.masterKey)
    }

    private func adopt(_ sealed: [UInt8], masterKey: MasterKey) throws(CoordinatorError) {
        let opened: [UInt8]
        do { opened = try masterKey.open(sealed, context: Self.sealContext) } catch {
            throw .internal("the shared admin token hash does not open with this master key (a data directory of another fleet?)")
        }
        let hash = String(decoding: opened, as: UTF8.self)
        guard ReleaseAPI.isHexDigest(hash) else { throw .internal("the shared admin token hash is not a SHA-256") }
        try tokenHashHex.withLock { (current: inout String) throws(CoordinatorError) in
            guard current != hash else { return }
            do { try SecureFile.write(hash + "\n", to: directory.adminTokenHash, mode: 0o600) } catch {
                throw .internal("cannot store the admin token hash: \(error)")
            }
            current = hash
        }
    }

    /// Replaces the admin token: the old one stops working at once, on every coordinator sharing
    /// the database. The new token is written to `admin.token` (so the CLI on this machine keeps
    /// working) and returned once.
    func rotate() async throws(CoordinatorError) -> String {
        let token = Secrets.generateToken(prefix: "flt_admin_")
        let hash = Secrets.hex(Secrets.hash(token))
        let shared = sharing.withLock { $0 }
        if let shared {
            try await shared.store.setSetting(Self.sharedVerifier, try shared.masterKey.seal(Array(hash.utf8), context: Self.sealContext))
        }
        try tokenHashHex.withLock { (current: inout String) throws(CoordinatorError) in
            do {
                try SecureFile.write(hash + "\n", to: directory.adminTokenHash, mode: 0o600)
                try SecureFile.write(token + "\n", to: directory.adminToken, mode: 0o600)
            } catch {
                throw .internal("cannot store the new admin token: \(error)")
            }
            current = hash
        }
        await shared?.bus.publish(.adminToken)
        return token
    }
}
