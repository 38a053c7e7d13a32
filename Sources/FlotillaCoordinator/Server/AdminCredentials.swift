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
final class AdminCredentials: Sendable {
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

    /// Replaces the admin token: the old one stops working at once. The new token is written to
    /// `admin.token` (so the CLI on this machine keeps working) and returned once.
    func rotate() throws(CoordinatorError) -> String {
        let token = Secrets.generateToken(prefix: "flt_admin_")
        let hash = Secrets.hex(Secrets.hash(token))
        try tokenHashHex.withLock { (current: inout String) throws(CoordinatorError) in
            do {
                try SecureFile.write(hash + "\n", to: directory.adminTokenHash, mode: 0o600)
                try SecureFile.write(token + "\n", to: directory.adminToken, mode: 0o600)
            } catch {
                throw .internal("cannot store the new admin token: \(error)")
            }
            current = hash
        }
        return token
    }
}
