import CFlotillaSystem

/// Conversions between numbers and ASCII bytes, independent of locale and of Swift's
/// floating-point printing (not available in every Embedded Swift configuration).
enum NumberText {
    /// Parses an optionally negative run of decimal digits; nil on overflow or any other byte.
    static func parseInt64(_ text: ArraySlice<UInt8>) -> Int64? {
        var index = text.startIndex
        var negative = false
        if index < text.endIndex, text[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < text.endIndex else { return nil }
        var value: Int64 = 0
        while index < text.endIndex {
            let byte = text[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let digit = Int64(byte - 0x30)
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// Parses a decimal floating-point number (C `strtod` syntax, C locale).
    static func parseDouble(_ text: ArraySlice<UInt8>) -> Double? {
        var result = 0.0
        let ok = text.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return 0 }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { pointer in
                flotilla_parse_double(pointer, buffer.count, &result)
            }
        }
        return ok == 1 ? result : nil
    }

    /// Shortest decimal text that reads back as `value`; nil for NaN and infinities. Negative
    /// zero keeps a fraction ("-0" would read back as the integer 0 and lose its sign).
    static func format(_ value: Double) -> [UInt8]? {
        guard value.isFinite else { return nil }
        if value == 0, value.sign == .minus { return Array("-0.0".utf8) }
        var buffer = [CChar](repeating: 0, count: 40)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            flotilla_format_double(value, pointer.baseAddress, pointer.count)
        }
        guard length > 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(length))
        for index in 0..<Int(length) { bytes.append(UInt8(bitPattern: buffer[index])) }
        return bytes
    }

    /// `format(value)` as a String, for log lines.
    static func string(_ value: Double) -> String {
        guard let bytes = format(value) else { return "nan" }
        return String(decoding: bytes, as: UTF8.self)
    }
}
