import CFlotillaSystem

/// Small conversions between C strings, byte arrays and Swift strings.
enum SystemText {
    /// `strerror` text for an errno value.
    static func errorDescription(_ number: Int32) -> String {
        let code = Text.number(Int64(number))
        guard let text = strerror(number) else { return Text.join("errno ", code) }
        return Text.join(String(cString: text), " (errno ", code, ")")
    }

    /// A String from UTF-8 bytes (invalid sequences are replaced, never trapped on).
    @inline(never)
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// A String from UTF-8 bytes.
    @inline(never)
    static func string(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// `bytes` with leading and trailing ASCII whitespace (space, tab, CR, LF) removed.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// Whitespace-separated fields of one line or text.
    static func fields(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            while index < bytes.endIndex, isSpace(bytes[index]) { index += 1 }
            let start = index
            while index < bytes.endIndex, !isSpace(bytes[index]) { index += 1 }
            if index > start { result.append(bytes[start..<index]) }
        }
        return result
    }

    /// Lines of `bytes`, split on LF (a trailing LF yields no empty last line).
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = 0
        for index in 0..<bytes.count where bytes[index] == 0x0A {
            result.append(bytes[start..<index])
            start = index + 1
        }
        if start < bytes.count { result.append(bytes[start..<bytes.count]) }
        return result
    }

    /// True when the bytes spell exactly `text` (byte-wise, no Unicode normalisation).
    static func equals(_ bytes: ArraySlice<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let start = text.utf8Start
        var offset = 0
        for byte in bytes {
            if byte != start[offset] { return false }
            offset += 1
        }
        return true
    }

    /// True when two strings hold the same UTF-8 bytes. Use this instead of `==`, which compares
    /// canonical equivalence and needs Unicode tables that Embedded Swift on riscv64 cannot link.
    static func same(_ left: String, _ right: String) -> Bool {
        left.utf8.elementsEqual(right.utf8)
    }

    /// True when the bytes begin with `text`.
    static func hasPrefix(_ bytes: ArraySlice<UInt8>, _ text: StaticString) -> Bool {
        guard bytes.count >= text.utf8CodeUnitCount else { return false }
        return equals(bytes[bytes.startIndex..<(bytes.startIndex + text.utf8CodeUnitCount)], text)
    }

    /// Reads a NUL-terminated C buffer into a String.
    static func string(cBuffer: [CChar]) -> String {
        var bytes: [UInt8] = []
        for char in cBuffer {
            if char == 0 { break }
            bytes.append(UInt8(bitPattern: char))
        }
        return string(bytes)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
