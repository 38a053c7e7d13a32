/// The provisioning bundle's `node.conf`: where the coordinator is, which CA to trust (pinned by
/// SHA-256), and the enrollment token. Unknown keys are ignored.
public struct NodeConfig {
    /// Base URL without a trailing slash, always `https://`.
    public var coordinatorURL: String
    public var caPEM: String
    /// Lowercase hex SHA-256 of the CA certificate's DER.
    public var caSHA256: String
    /// Enrollment secret: sent once to /v1/enroll, never logged or stored in the state dir.
    public var token: String
    public var group: String?

    /// Decodes and validates node.conf text.
    public init(bytes: [UInt8]) throws(NodeError) {
        let json: JSONValue
        do {
            json = try JSONParser(maxBytes: 64 * 1024).parse(bytes)
        } catch {
            throw .invalidConfig("node.conf is not valid JSON: " + error.message)
        }
        do {
            coordinatorURL = try NodeConfig.normalizedURL(try json.requiredString("coordinator_url"))
            caPEM = try json.requiredString("ca_pem")
            caSHA256 = try json.requiredString("ca_sha256")
            token = try json.requiredString("token")
            group = json["group"]?.stringValue
        } catch {
            throw .invalidConfig("node.conf: " + error.message)
        }
        guard caSHA256.utf8.count == 64 else { throw .invalidConfig("node.conf: ca_sha256 must be 64 hex digits") }
    }

    /// Reads and decodes node.conf from `path`.
    public static func load(_ path: String) throws(NodeError) -> NodeConfig {
        try NodeConfig(bytes: try FileIO.read(path, maxBytes: 64 * 1024))
    }

    /// Throws `.caFingerprintMismatch` unless `ca_pem` hashes to `ca_sha256`.
    public func verifyPinnedCA() throws(NodeError) {
        let actual = try Certificate(pem: Array(caPEM.utf8)).sha256Hex()
        guard Hex.equal(actual, caSHA256) else {
            throw .caFingerprintMismatch(expected: caSHA256, actual: actual)
        }
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
public enum NodeName {
    /// True when `name` is acceptable to the coordinator.
    public static func isValid(_ name: String) -> Bool {
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
