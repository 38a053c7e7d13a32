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
    /// Largest `POST /admin/v1/releases` body: a whole fleet spec with base64 skill files.
    public static let publishBodyBytes = 64 * 1024 * 1024
    /// Release limits the node enforces too (docs/releases.md).
    public static let maxReleaseFiles = 1000
    public static let maxReleaseFileBytes = 4 * 1024 * 1024
    public static let maxReleaseBytes = 16 * 1024 * 1024
    public static let maxManifestBytes = 1024 * 1024
}

/// Rules for the names of nodes and groups.
public enum NameRules {
    /// True when `name` is 1–63 of `[A-Za-z0-9._-]` and starts with a letter or digit.
    public static func isValidNodeName(_ name: String) -> Bool {
        isValid(name, maxLength: WireLimits.nodeNameLength)
    }

    /// PicoClaw's skill-name rule: `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`, at most 64 characters.
    public static func isValidSkillName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 64, bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        var previousHyphen = false
        for byte in bytes {
            let alnum = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            if byte == UInt8(ascii: "-") {
                if previousHyphen { return false }
                previousHyphen = true
            } else if alnum {
                previousHyphen = false
            } else {
                return false
            }
        }
        return true
    }

    /// A safe relative path inside a skill: `/`-separated components, none empty, `.` or `..`,
    /// no backslash or control characters, no leading `/`.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 512 else { return false }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty || component == "." || component == ".." { return false }
            if component.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) { return false }
        }
        return true
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
