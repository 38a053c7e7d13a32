/// The provisioning bundle's `node.conf`: where the coordinator is, which CA to trust (pinned by
/// SHA-256), and the enrollment token. Unknown keys are ignored.
final class NodeConfig {
    /// Base URL without a trailing slash, always `https://`: the preferred coordinator.
    var coordinatorURL: String
    /// Every coordinator of the fleet in the order the node prefers them (`coordinators`,
    /// optional; `flotilla provision` puts `coordinator_url` first), tried in turn when the one
    /// in use stops answering.
    var coordinators: [String] = []
    var caPEM: String
    /// Lowercase hex SHA-256 of the CA certificate's DER.
    var caSHA256: String
    /// Enrollment secret: sent once to /v1/enroll, never logged or stored in the state dir.
    var token: String
    var group: String?
    /// The fleet's release root key: base64 of the raw 32-byte Ed25519 key (`root_public_key`,
    /// optional, checked to decode to 32 bytes). Without it the node never applies releases.
    var rootPublicKey: String?

    /// Decodes and validates node.conf text.
    init(bytes: [UInt8]) throws(NodeError) {
        let json: JSONValue
        do {
            json = try JSONParser(maxBytes: 64 * 1024).parse(bytes)
        } catch {
            throw .invalidConfig("node.conf is not valid JSON: " + error.message)
        }
        do throws(NodeError) {
            coordinatorURL = try NodeConfig.normalizedURL(try json.requiredString("coordinator_url"))
            coordinators = try NodeConfig.urlList(json["coordinators"])
            caPEM = try json.requiredString("ca_pem")
            caSHA256 = try json.requiredString("ca_sha256")
            token = try json.requiredString("token")
            group = json["group"]?.stringValue
            rootPublicKey = json["root_public_key"]?.stringValue
            if let text = rootPublicKey, Base64.decode(text)?.count != 32 {
                throw NodeError.invalidConfig("root_public_key must be base64 of a raw 32-byte Ed25519 key")
            }
        } catch {
            throw .invalidConfig("node.conf: " + error.message)
        }
        guard caSHA256.utf8.count == 64 else { throw .invalidConfig("node.conf: ca_sha256 must be 64 hex digits") }
    }

    /// Reads and decodes node.conf from `path`.
    static func load(_ path: String) throws(NodeError) -> NodeConfig {
        try NodeConfig(bytes: try FileIO.read(path, maxBytes: 64 * 1024))
    }

    /// Throws `.caFingerprintMismatch` unless `ca_pem` hashes to `ca_sha256`.
    func verifyPinnedCA() throws(NodeError) {
        let actual = try Certificate(pem: Array(caPEM.utf8)).sha256Hex()
        guard Hex.equal(actual, caSHA256) else {
            throw .caFingerprintMismatch(expected: caSHA256, actual: actual)
        }
    }

    /// The URLs of a `coordinators` array (none when absent), each checked like `coordinator_url`.
    static func urlList(_ value: JSONValue?) throws(NodeError) -> [String] {
        var urls: [String] = []
        // Anything but an https:// URL string (a number, an object) is refused by normalizedURL.
        for item in value?.arrayValue ?? [] { urls.append(try normalizedURL(item.stringValue ?? "")) }
        return urls
    }

    /// Checks the scheme is https and drops trailing slashes so paths can be appended.
    static func normalizedURL(_ url: String) throws(NodeError) -> String {
        var bytes = Array(url.utf8)
        guard SystemText.hasPrefix(bytes[...], "https://"), bytes.count > 8 else {
            throw .invalidConfig("node.conf: coordinator_url must start with https://")
        }
        while bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        return SystemText.string(bytes)
    }
}

/// The protocol's node-name rule: 1–63 of `[A-Za-z0-9._-]`, starting with a letter or digit.
enum NodeName {
    /// True when `name` is acceptable to the coordinator.
    static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 63, isAlphanumeric(bytes[0]) else { return false }
        for byte in bytes where !(isAlphanumeric(byte) || byte == UInt8(ascii: ".")
                                  || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")) {
            return false
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
