/// One version of the fleet's trust root (payload `type: "root"`): which key is the root and
/// which online keys may sign releases.
final class RootDocument {
    let version: Int64
    /// Raw 32-byte Ed25519 keys.
    let rootKey: [UInt8]
    let signingKeys: [[UInt8]]
    /// Nodes reaching this document forget their release floor (`release_floor_reset`).
    let resetsReleaseFloor: Bool
    /// The envelope it came in, kept to be stored as `trusted-root.json`.
    let envelope: SignedEnvelope

    /// Parses the payload of `envelope`; does not check any signature (see `TrustChain`).
    init(envelope: SignedEnvelope) throws(NodeError) {
        let json = try envelope.payloadJSON()
        guard SystemText.same(json["type"]?.stringValue ?? "", "root"), let version = json["version"]?.intValue, version >= 1,
              let rootKey = RootDocument.key(json["root_key"]), let list = json["signing_keys"]?.arrayValue else {
            throw .invalidField("not a root document (type, version, root_key, signing_keys)")
        }
        var keys: [[UInt8]] = []
        for entry in list {
            guard let key = RootDocument.key(entry) else { throw .invalidField("root document signing key is not base64 of 32 bytes") }
            keys.append(key)
        }
        signingKeys = keys
        resetsReleaseFloor = json["release_floor_reset"]?.boolValue ?? false
        self.version = version
        self.rootKey = rootKey
        self.envelope = envelope
    }

    /// A base64 raw Ed25519 public key field, or nil.
    static func key(_ value: JSONValue?) -> [UInt8]? {
        guard let text = value?.stringValue, let key = Base64.decode(text), key.count == 32 else { return nil }
        return key
    }
}
