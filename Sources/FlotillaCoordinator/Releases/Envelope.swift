import Crypto
import FlotillaProtocol
import Foundation

/// Building and checking signed envelopes (docs/releases.md): the signature covers the exact
/// payload bytes.
package enum Envelope {
    /// Encodes `payload` and signs it with every key in `keys`; returns the envelope's JSON bytes.
    static func seal(_ payload: some Encodable, keys: [SigningKey]) throws(CoordinatorError) -> Data {
        let bytes: Data
        do { bytes = try payloadEncoder.encode(payload) } catch { throw .internal("cannot encode payload: \(error)") }
        return try seal(payloadBytes: bytes, keys: keys)
    }

    /// Signs already-encoded payload bytes.
    static func seal(payloadBytes: Data, keys: [SigningKey]) throws(CoordinatorError) -> Data {
        var signatures: [EnvelopeSignature] = []
        for key in keys {
            let entry = try key.sign(payloadBytes)
            signatures.append(EnvelopeSignature(keyID: entry.keyID, signature: entry.signature.base64EncodedString()))
        }
        return try encode(SignedEnvelope(signed: payloadBytes.base64EncodedString(), signatures: signatures))
    }

    /// Encodes an envelope.
    static func encode(_ envelope: SignedEnvelope) throws(CoordinatorError) -> Data {
        do { return try payloadEncoder.encode(envelope) } catch { throw .internal("cannot encode envelope: \(error)") }
    }

    /// The payload bytes of an envelope when `publicKey` (raw) made a valid signature over them.
    package static func verifiedPayload(_ envelope: SignedEnvelope, publicKey raw: Data) -> Data? {
        guard let payload = Data(base64Encoded: envelope.signed),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { return nil }
        let id = SigningKey.keyID(publicKey: raw)
        for entry in envelope.signatures where entry.keyID == id {
            if let signature = Data(base64Encoded: entry.signature), key.isValidSignature(signature, for: payload) {
                return payload
            }
        }
        return nil
    }

    /// Sorted keys, no escaped slashes: stable bytes for the same payload.
    static let payloadEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Lowercase hex SHA-256.
    package static func sha256Hex(_ data: Data) -> String {
        Secrets.hex(SHA256.hash(data: data))
    }
}
