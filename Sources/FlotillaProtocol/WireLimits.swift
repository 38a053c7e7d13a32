/// Size and value limits agreed between the coordinator and its clients.
public enum WireLimits {
    /// Largest body accepted on node endpoints (enroll, heartbeat, renew).
    public static let nodeBodyBytes = 64 * 1024
    /// Largest body accepted on admin endpoints.
    public static let adminBodyBytes = 256 * 1024
    /// Longest node name.
    public static let nodeNameLength = 63
    /// Longest group name.
    public static let groupNameLength = 63
    /// Most thermal zones stored per heartbeat.
    public static let maxTemperatures = 32
}

/// Rules for the names of nodes and groups.
public enum NameRules {
    /// True when `name` is 1–63 of `[A-Za-z0-9._-]` and starts with a letter or digit.
    public static func isValidNodeName(_ name: String) -> Bool {
        isValid(name, maxLength: WireLimits.nodeNameLength)
    }

    /// True when `name` follows the node-name rule (groups share it).
    public static func isValidGroupName(_ name: String) -> Bool {
        isValid(name, maxLength: WireLimits.groupNameLength)
    }

    private static func isValid(_ name: String, maxLength: Int) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maxLength, isAlnum(first) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
