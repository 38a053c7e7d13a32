/// The envelope shared by root documents and release manifests (docs/releases.md):
/// `{"signed": "<base64 payload>", "signatures": [{"key_id": "<hex>", "signature": "<base64>"}]}`.
/// Signatures cover the exact payload bytes, so no canonical JSON is involved.
final class SignedEnvelope {
    /// One signature entry as sent; `keyID` is not trusted until the signature verifies.
    struct Signature {
        var keyID: String
        var bytes: [UInt8]
    }

    /// The envelope as received (re-encoding it keeps `signed` byte for byte).
    var json: JSONValue
    /// The decoded payload bytes the signatures cover.
    var payload: [UInt8]
    /// Well-formed entries of `signatures`; malformed entries are dropped like unknown keys.
    var signatures: [Signature]

    /// Parses an envelope. Throws `.invalidField` when `signed` is not base64 text or
    /// `signatures` is not an array.
    init(json: JSONValue) throws(NodeError) {
        guard let payload = Base64.decode(try json.requiredString("signed")) else {
            throw .invalidField("envelope field \"signed\" is not base64")
        }
        guard let entries = json["signatures"]?.arrayValue else {
            throw .invalidField("envelope field \"signatures\" is not an array")
        }
        self.json = json
        self.payload = payload
        signatures = []
        for entry in entries {
            guard let keyID = entry["key_id"]?.stringValue, let text = entry["signature"]?.stringValue,
                  let bytes = Base64.decode(text), bytes.count == 64 else { continue }
            signatures.append(Signature(keyID: keyID, bytes: bytes))
        }
    }

    /// The payload parsed as JSON (payloads are small: the parser's 1 MiB default applies).
    func payloadJSON() throws(NodeError) -> JSONValue {
        try JSONParser().parse(payload)
    }

    /// True when some entry names `publicKey`'s key id and is a valid signature by it.
    @inline(never)
    func isSigned(by publicKey: [UInt8]) -> Bool {
        guard let keyID = try? Ed25519.keyID(publicKey) else { return false }
        for signature in signatures where Hex.equal(signature.keyID, keyID) {
            if Ed25519.verify(publicKey: publicKey, message: payload, signature: signature.bytes) { return true }
        }
        return false
    }
}
