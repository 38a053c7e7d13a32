import FlotillaProtocol
import Foundation
import Synchronization

/// What authenticates an operator, kept in the data directory and never in the database, so
/// write access to `flotilla.sqlite` (or a copy of it) cannot mint an admin:
/// - `admin-token.sha256` (0600): SHA-256 of the admin token, replaced by `rotate()`;
/// - `local.key` (0600): a secret only someone who can read the data directory has. Exporting
///   or replacing the root key needs it as well as the admin token (the CLI sends it when run
///   with `--data-dir` on the coordinator's machine), so a stolen admin token cannot take the
///   fleet's root of trust.
final class AdminCredentials: Sendable {
    /// The header carrying `local.key`'s content.
    static let localKeyHeader = "Flotilla-Local-Key"

    private let directory: DataDirectory
    private let tokenHash: Mutex<[UInt8]>
    private let localKeyHash: [UInt8]

    private init(directory: DataDirectory, tokenHash: [UInt8], localKeyHash: [UInt8]) {
        self.directory = directory
        self.tokenHash = Mutex(tokenHash)
        self.localKeyHash = localKeyHash
    }

    /// Loads the credentials of `directory`, creating what is missing. Returns the admin token
    /// when it was created now (first start), so `serve` can hand it to the operator once.
    ///
    /// A coordinator from before this file existed kept the hash in the database: the hash is
    /// taken from `admin.token` when that file is still there, else a new token is created. The
    /// old database row is deleted either way and never read.
    static func loadOrCreate(directory: DataDirectory, store: Store) throws -> (AdminCredentials, createdToken: String?) {
        var created: String?
        let hash: [UInt8]
        if SecureFile.exists(directory.adminTokenHash) {
            guard let decoded = Self.unhex(try SecureFile.read(directory.adminTokenHash)), decoded.count == 32 else {
                throw CoordinatorError.internal("\(directory.adminTokenHash) is not a SHA-256 in hex")
            }
            hash = decoded
        } else if SecureFile.exists(directory.adminToken) {
            hash = Secrets.hash(try SecureFile.read(directory.adminToken).trimmingCharacters(in: .whitespacesAndNewlines))
            try SecureFile.write(Secrets.hex(hash) + "\n", to: directory.adminTokenHash, mode: 0o600)
        } else {
            let token = Secrets.generateToken(prefix: "flt_admin_")
            hash = Secrets.hash(token)
            try SecureFile.write(token + "\n", to: directory.adminToken, mode: 0o600)
            try SecureFile.write(Secrets.hex(hash) + "\n", to: directory.adminTokenHash, mode: 0o600)
            created = token
        }
        try store.deleteSetting("admin_token_sha256")
        if !SecureFile.exists(directory.localKey) {
            try SecureFile.write(Secrets.generateToken(prefix: "flt_local_") + "\n", to: directory.localKey, mode: 0o600)
        }
        let local = try SecureFile.read(directory.localKey).trimmingCharacters(in: .whitespacesAndNewlines)
        return (AdminCredentials(directory: directory, tokenHash: hash, localKeyHash: Secrets.hash(local)), created)
    }

    /// True when `token` is the current admin token (constant time).
    func isAdminToken(_ token: String) -> Bool {
        let presented = Secrets.hash(token)
        return tokenHash.withLock { Secrets.constantTimeEquals(presented, $0) }
    }

    /// True when `key` is the content of `local.key` (constant time).
    func isLocalKey(_ key: String) -> Bool {
        Secrets.constantTimeEquals(Secrets.hash(key), localKeyHash)
    }

    /// Replaces the admin token: the old one stops working at once. The new token is written to
    /// `admin.token` (so the CLI on this machine keeps working) and returned once.
    func rotate() throws(CoordinatorError) -> String {
        let token = Secrets.generateToken(prefix: "flt_admin_")
        let hash = Secrets.hash(token)
        try tokenHash.withLock { (current: inout [UInt8]) throws(CoordinatorError) in
            do {
                try SecureFile.write(Secrets.hex(hash) + "\n", to: directory.adminTokenHash, mode: 0o600)
                try SecureFile.write(token + "\n", to: directory.adminToken, mode: 0o600)
            } catch {
                throw .internal("cannot store the new admin token: \(error)")
            }
            current = hash
        }
        return token
    }

    private static func unhex(_ text: String) -> [UInt8]? {
        let digits = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
