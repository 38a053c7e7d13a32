/// Serialises a `JSONValue` to compact UTF-8 JSON, escaping quotes, backslashes and control
/// characters. Non-finite doubles (not representable in JSON) are written as `null`.
enum JSONWriter {
    /// The compact JSON text of `value`.
    static func encode(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        write(value, to: &output)
        return output
    }

    /// Indented JSON (two spaces, one member per line, trailing newline), for files people also
    /// edit by hand such as PicoClaw's config.json.
    static func encodePretty(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        writePretty(value, depth: 0, to: &output)
        output.append(0x0A)
        return output
    }

    private static func writePretty(_ value: JSONValue, depth: Int, to output: inout [UInt8]) {
        switch value {
        case .array(let elements) where !elements.isEmpty:
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1, to: &output)
                writePretty(element, depth: depth + 1, to: &output)
            }
            newline(depth, to: &output)
            output.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth + 1, to: &output)
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                output.append(UInt8(ascii: " "))
                writePretty(member.value, depth: depth + 1, to: &output)
            }
            newline(depth, to: &output)
            output.append(UInt8(ascii: "}"))
        default:
            write(value, to: &output)
        }
    }

    private static func newline(_ depth: Int, to output: inout [UInt8]) {
        output.append(0x0A)
        for _ in 0..<(depth * 2) { output.append(UInt8(ascii: " ")) }
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: appendASCII("null", to: &output)
        case .bool(let flag): appendASCII(flag ? "true" : "false", to: &output)
        case .int(let number): output.append(contentsOf: Text.number(number).utf8)
        case .double(let number):
            if let text = NumberText.format(number) {
                output.append(contentsOf: text)
            } else {
                appendASCII("null", to: &output)
            }
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func appendASCII(_ text: StaticString, to output: inout [UInt8]) {
        let start = text.utf8Start
        for index in 0..<text.utf8CodeUnitCount { output.append(start[index]) }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(0x5C); output.append(byte)
            case UInt8(ascii: "\\"): output.append(0x5C); output.append(byte)
            case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
            case 0x0D: output.append(0x5C); output.append(UInt8(ascii: "r"))
            case 0x09: output.append(0x5C); output.append(UInt8(ascii: "t"))
            case 0x08: output.append(0x5C); output.append(UInt8(ascii: "b"))
            case 0x0C: output.append(0x5C); output.append(UInt8(ascii: "f"))
            case 0x00..<0x20:
                appendASCII("\\u00", to: &output)
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10
    }
}
