import Crypto
import FlotillaProtocol
import Foundation

/// The key that seals provider keys at rest (AES-256-GCM). It is never stored in the database, so
/// a copied `flotilla.sqlite` reveals no provider key: it comes from `FLOTILLA_MASTER_KEY` (base64
/// of 32 bytes) or from `master.key` in the data directory (0600), created on first start.
struct MasterKey: Sendable {
    private let key: SymmetricKey

    /// The environment variable that, when set, replaces `master.key`.
    static let environmentVariable = "FLOTILLA_MASTER_KEY"

    init(bytes: [UInt8]) throws(CoordinatorError) {
        guard bytes.count == 32 else { throw .internal("a master key is 32 bytes") }
        key = SymmetricKey(data: bytes)
    }

    /// A new random key.
    static func generate() -> MasterKey {
        // 32 bytes always make a valid key.
        try! MasterKey(bytes: Array(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
    }

    /// The key from `FLOTILLA_MASTER_KEY`, else from `path` (created 0600 when missing and
    /// `create` is true). Returns whether it was created.
    static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment, create: Bool = true)
        throws(CoordinatorError) -> (MasterKey, created: Bool)
    {
        if let text = environment[environmentVariable], !text.isEmpty {
            return (try parse(text, source: environmentVariable), false)
        }
        if SecureFile.exists(path) {
            let text: String
            do { text = try SecureFile.read(path) } catch { throw .internal("cannot read the master key file \(path)") }
            return (try parse(text, source: path), false)
        }
        guard create else { throw .internal("no master key: \(path) is missing and \(environmentVariable) is not set") }
        let key = generate()
        do {
            try SecureFile.write(key.base64 + "\n", to: path, mode: 0o600)
        } catch {
            throw .internal("cannot write the master key file \(path)")
        }
        return (key, true)
    }

    private static func parse(_ text: String, source: String) throws(CoordinatorError) -> MasterKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw .internal("\(source) must hold base64 of 32 random bytes (e.g. `head -c32 /dev/urandom | base64`)")
        }
        return try MasterKey(bytes: Array(data))
    }

    var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// A key for one `purpose` (HKDF-SHA256), so the master key itself never MACs or seals two
    /// kinds of thing with the same bytes.
    func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data(purpose.utf8), outputByteCount: 32)
    }

    /// Seals `plaintext`; `context` is bound as associated data, so a sealed value copied to
    /// another row (another provider) does not open there. Output: nonce ‖ ciphertext ‖ tag.
    func seal(_ plaintext: [UInt8], context: String) throws(CoordinatorError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
            guard let combined = box.combined else { throw CoordinatorError.internal("AES-GCM gave no combined box") }
            return Array(combined)
        } catch {
            throw .internal("cannot seal a secret")
        }
    }

    /// Opens what `seal` made with the same `context`; throws when the key or context differ or
    /// the bytes were altered.
    func open(_ sealed: [UInt8], context: String) throws(CoordinatorError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw .internal("a sealed secret does not open with this master key")
        }
    }
}
