/// The contract's rule for file paths in a release: `skills/<name>/<relative>`, `<name>` matching
/// `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$` (at most 64 bytes, PicoClaw's skill-name rule), every
/// component non-empty and not `.` or `..`, no `\`, no NUL, no leading `/`. Checked on bytes.
enum ReleasePath {
    /// True when `path` is acceptable.
    static func isSafe(_ path: String) -> Bool {
        let components = split(path)
        guard components.count >= 3, SystemText.equals(components[0], "skills"),
              isSkillName(components[1]) else { return false }
        for component in components {
            guard !component.isEmpty, !SystemText.equals(component, "."), !SystemText.equals(component, "..") else {
                return false
            }
            for byte in component where byte == 0 || byte == UInt8(ascii: "\\") { return false }
        }
        return true
    }

    /// The `<name>` of a `skills/<name>/...` path, or nil.
    static func skillName(_ path: String) -> String? {
        let components = split(path)
        guard components.count >= 3, SystemText.equals(components[0], "skills") else { return nil }
        return SystemText.string(components[1])
    }

    /// True when `path` is inside skill `name` (`skills/<name>/...`).
    static func inSkill(_ path: String, _ name: String) -> Bool {
        guard let skill = skillName(path) else { return false }
        return SystemText.same(skill, name)
    }

    /// `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`, at most 64 bytes.
    static func isSkillName(_ name: ArraySlice<UInt8>) -> Bool {
        guard !name.isEmpty, name.count <= 64, name.first != UInt8(ascii: "-"), name.last != UInt8(ascii: "-") else {
            return false
        }
        var previous: UInt8 = 0
        for byte in name {
            let alphanumeric = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            guard alphanumeric || byte == UInt8(ascii: "-") else { return false }
            if byte == UInt8(ascii: "-"), previous == UInt8(ascii: "-") { return false }
            previous = byte
        }
        return true
    }

    /// `path` split on `/`, keeping empty components (so a leading `/` or `//` shows up as one).
    static func split(_ path: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(path.utf8)
        var components: [ArraySlice<UInt8>] = []
        var start = 0
        for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "/") {
            components.append(bytes[start..<index])
            start = index + 1
        }
        return components
    }
}
