/// Hexadecimal text of bytes (key ids, SHA-256 digests, `seen`).
enum Hex {
    /// Lowercase hex of `bytes`.
    static func lowercase(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digit(byte >> 4))
            output.append(digit(byte & 0x0F))
        }
        return SystemText.string(output)
    }

    /// True when two hex strings name the same bytes (ASCII case-insensitive).
    static func equal(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        guard a.count == b.count else { return false }
        for index in 0..<a.count where lower(a[index]) != lower(b[index]) { return false }
        return true
    }

    /// True when `text` is exactly `count` lowercase hex digits (the wire form of digests and key
    /// ids; also what makes a digest safe to put in a URL or a file name).
    static func isLowercase(_ text: String, count: Int) -> Bool {
        guard text.utf8.count == count else { return false }
        for byte in text.utf8 where !((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)) {
            return false
        }
        return true
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
    }

    private static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10
    }
}
