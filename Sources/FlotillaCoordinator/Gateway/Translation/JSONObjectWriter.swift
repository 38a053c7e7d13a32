import Foundation

/// Writes the values `JSONSerialization.jsonObject` reads (and the dictionaries the translation
/// builds from them) as compact JSON with sorted keys and unescaped slashes. On Linux,
/// `JSONSerialization.data(withJSONObject:)` was ten times the cost of parsing and the largest
/// share of a translated call's CPU time (`flotilla bench gateway --translate` under perf).
/// Strings are escaped as RFC 8259 §7 requires (quote, backslash, control characters) and
/// otherwise written as their UTF-8 bytes; numbers keep their kind: a parsed boolean is an
/// `NSNumber` of type `c` on swift-corelibs-foundation, a parsed integer an `NSNumber` of an
/// integer type, so `1` stays `1` and `true` stays `true`.
enum JSONObjectWriter {
    /// `value` as JSON, or nil when it holds something JSON cannot carry (a non-finite number,
    /// a type JSONSerialization would not produce).
    static func data(_ value: Any) -> Data? {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        guard write(value, into: &out) else { return nil }
        return Data(out)
    }

    static func write(_ value: Any, into out: inout [UInt8]) -> Bool {
        switch value {
        case let text as String:
            writeString(text, into: &out)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                guard let member = object[key], write(member, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(element, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        default:
            return writeScalar(value, into: &out)
        }
        return true
    }

    /// Swift's own `Bool`, `Int` and `Double` (the translation's literals) by their dynamic type,
    /// then the `NSNumber`s of a parsed document by their `objCType`.
    private static func writeScalar(_ value: Any, into out: inout [UInt8]) -> Bool {
        let type = type(of: value)
        if type == Bool.self, let flag = value as? Bool { return writeBool(flag, into: &out) }
        if type == Int.self, let number = value as? Int { out.append(contentsOf: String(number).utf8); return true }
        if type == Int64.self, let number = value as? Int64 { out.append(contentsOf: String(number).utf8); return true }
        if type == Double.self, let number = value as? Double { return writeDouble(number, into: &out) }
        guard let number = value as? NSNumber else { return false }
        switch number.objCType.pointee {
        case CChar(UInt8(ascii: "c")), CChar(UInt8(ascii: "B")): return writeBool(number.boolValue, into: &out)
        case CChar(UInt8(ascii: "d")), CChar(UInt8(ascii: "f")): return writeDouble(number.doubleValue, into: &out)
        case CChar(UInt8(ascii: "Q")): out.append(contentsOf: String(number.uint64Value).utf8)
        default: out.append(contentsOf: String(number.int64Value).utf8)
        }
        return true
    }

    private static func writeBool(_ flag: Bool, into out: inout [UInt8]) -> Bool {
        out.append(contentsOf: (flag ? "true" : "false").utf8)
        return true
    }

    private static func writeDouble(_ number: Double, into out: inout [UInt8]) -> Bool {
        guard number.isFinite else { return false }
        if number == number.rounded(.towardZero), abs(number) < 1e15 {
            out.append(contentsOf: String(Int64(number)).utf8)
        } else {
            out.append(contentsOf: "\(number)".utf8)
        }
        return true
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
