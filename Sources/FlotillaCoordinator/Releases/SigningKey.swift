import Crypto
import Foundation

/// An Ed25519 key of the fleet's trust chain, with the encodings the release contract uses.
public struct SigningKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(_ privateKey: Curve25519.Signing.PrivateKey = .init()) {
        self.privateKey = privateKey
    }

    /// Base64 of the raw 32-byte public key: the form `node.conf` pins and root documents list.
    public var publicKeyBase64: String { privateKey.publicKey.rawRepresentation.base64EncodedString() }

    /// Lowercase hex SHA-256 of the raw public key.
    public var keyID: String { Self.keyID(publicKey: privateKey.publicKey.rawRepresentation) }

    /// The key id of a raw public key.
    public static func keyID(publicKey raw: Data) -> String {
        Secrets.hex(SHA256.hash(data: raw))
    }

    /// Signs `payload`, returning the envelope signature entry.
    func sign(_ payload: Data) throws(CoordinatorError) -> EnvelopeSignatureEntry {
        do {
            let signature = try privateKey.signature(for: payload)
            return EnvelopeSignatureEntry(keyID: keyID, signature: signature)
        } catch {
            throw .internal("cannot sign: \(error)")
        }
    }

    /// Reads a key file: one line, `ed25519:` and base64 of the 32-byte private key.
    public static func load(_ path: String) throws(CoordinatorError) -> SigningKey {
        let text: String
        do { text = try SecureFile.read(path) } catch { throw .internal("cannot read key \(path): \(error)") }
        return try parse(text, source: path)
    }

    /// Parses the key file format.
    public static func parse(_ text: String, source: String) throws(CoordinatorError) -> SigningKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("ed25519:"), let raw = Data(base64Encoded: String(trimmed.dropFirst(8))), raw.count == 32,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw .invalidRequest("\(source) is not a Flotilla Ed25519 key file") }
        return SigningKey(key)
    }

    /// The key file text.
    public var fileText: String { "ed25519:" + privateKey.rawRepresentation.base64EncodedString() + "\n" }

    /// Writes the key to `path` (0600) atomically.
    public func write(to path: String) throws(CoordinatorError) {
        do { try SecureFile.write(fileText, to: path, mode: 0o600) } catch { throw .internal("cannot write key \(path): \(error)") }
    }
}

/// A signature made by a `SigningKey`, before encoding into an envelope.
struct EnvelopeSignatureEntry: Sendable {
    var keyID: String
    var signature: Data
}
