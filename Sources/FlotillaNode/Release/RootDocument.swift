/// One version of the fleet's trust root (payload `type: "root"`): which key is the root and
/// which online keys may sign releases.
struct RootDocument {
    var version: Int64
    /// Raw 32-byte Ed25519 keys.
    var rootKey: [UInt8]
    var signingKeys: [[UInt8]]
    /// The envelope it came in, kept to be stored as `trusted-root.json`.
    var envelope: SignedEnvelope

    /// Parses the payload of `envelope`; does not check any signature (see `TrustChain`).
    init(envelope: SignedEnvelope) throws(NodeError) {
        let json = try envelope.payloadJSON()
        guard SystemText.same(json["type"]?.stringValue ?? "", "root") else { throw .invalidField("root document type is not \"root\"") }
        version = try json.requiredInt("version")
        guard version >= 1 else { throw .invalidField("root document version must be >= 1") }
        rootKey = try RootDocument.key(json["root_key"])
        guard let list = json["signing_keys"]?.arrayValue else { throw .invalidField("root document lacks signing_keys") }
        signingKeys = []
        for entry in list { signingKeys.append(try RootDocument.key(entry)) }
        self.envelope = envelope
    }

    /// A base64 raw Ed25519 key field.
    static func key(_ value: JSONValue?) throws(NodeError) -> [UInt8] {
        guard let text = value?.stringValue, let key = Base64.decode(text), key.count == 32 else {
            throw .invalidField("root document key is not base64 of 32 bytes")
        }
        return key
    }
}
