/// Strict RFC 8259 JSON parser over UTF-8 bytes, with size and depth limits so a hostile or
/// broken coordinator cannot exhaust the board's memory or stack.
struct JSONParser {
    /// Longest accepted document in bytes.
    var maxBytes: Int
    /// Deepest accepted nesting of arrays/objects.
    var maxDepth: Int

    /// Creates a parser; defaults suit every protocol body (the largest are a few KiB).
    init(maxBytes: Int = 1 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }

    /// Parses one complete JSON document (surrounding whitespace allowed, nothing else).
    func parse(_ bytes: [UInt8]) throws(NodeError) -> JSONValue {
        guard bytes.count <= maxBytes else {
            throw .jsonLimitExceeded(Text.join("JSON document of ", Text.number(Int64(bytes.count)), " bytes exceeds ", Text.number(Int64(maxBytes))))
        }
        var cursor = Cursor(bytes: bytes, maxDepth: maxDepth)
        cursor.skipWhitespace()
        let value = try cursor.parseValue(depth: 0)
        cursor.skipWhitespace()
        guard cursor.position == bytes.count else { throw cursor.failure("trailing data after document") }
        return value
    }

    private struct Cursor {
        let bytes: [UInt8]
        let maxDepth: Int
        var position = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func failure(_ reason: String) -> NodeError {
            .invalidJSON(offset: position, reason: reason)
        }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(NodeError) {
            guard current == byte else { throw failure(Text.join("expected ", what)) }
            position += 1
        }

        mutating func parseValue(depth: Int) throws(NodeError) -> JSONValue {
            guard let byte = current else { throw failure("unexpected end of input") }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try parseLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw failure(Text.join("unexpected byte ", Text.number(Int64(byte))))
            }
        }

        mutating func parseLiteral(_ word: StaticString) throws(NodeError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw failure("truncated literal") }
            let start = word.utf8Start
            for index in 0..<count where bytes[position + index] != start[index] {
                throw failure("invalid literal")
            }
            position += count
        }

        mutating func parseObject(depth: Int) throws(NodeError) -> JSONValue {
            guard depth <= maxDepth else { throw .jsonLimitExceeded(Text.join("JSON nesting deeper than ", Text.number(Int64(maxDepth)))) }
            position += 1
            var members: [JSONMember] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw failure("expected object key") }
                let key = try parseString()
                for member in members where member.key.utf8.elementsEqual(key.utf8) {
                    throw failure(Text.join("duplicate key \"", key, "\""))
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                let value = try parseValue(depth: depth)
                members.append(JSONMember(key, value))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                return .object(members)
            }
        }

        mutating func parseArray(depth: Int) throws(NodeError) -> JSONValue {
            guard depth <= maxDepth else { throw .jsonLimitExceeded(Text.join("JSON nesting deeper than ", Text.number(Int64(maxDepth)))) }
            position += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                return .array(elements)
            }
        }

        mutating func parseNumber() throws(NodeError) -> JSONValue {
            let start = position
            var isInteger = true
            if current == UInt8(ascii: "-") { position += 1 }
            guard let first = current, first >= 0x30, first <= 0x39 else { throw failure("expected digit") }
            if first == 0x30 {
                position += 1
                if let next = current, next >= 0x30, next <= 0x39 { throw failure("leading zero") }
            } else {
                skipDigits()
            }
            if current == UInt8(ascii: ".") {
                isInteger = false
                position += 1
                guard skipDigits() > 0 else { throw failure("expected digit after '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard skipDigits() > 0 else { throw failure("expected exponent digits") }
            }
            let text = bytes[start..<position]
            if isInteger, let value = NumberText.parseInt64(text) { return .int(value) }
            guard let value = NumberText.parseDouble(text), value.isFinite else {
                throw .invalidJSON(offset: start, reason: "number out of range")
            }
            return .double(value)
        }

        @discardableResult
        mutating func skipDigits() -> Int {
            var count = 0
            while let byte = current, byte >= 0x30, byte <= 0x39 {
                position += 1
                count += 1
            }
            return count
        }

        mutating func parseHex4() throws(NodeError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw failure("invalid hex digit in \\u escape")
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }

        mutating func parseEscapedScalar() throws(NodeError) -> UInt32 {
            let high = try parseHex4()
            if high >= 0xDC00, high <= 0xDFFF { throw failure("unpaired low surrogate") }
            guard high >= 0xD800, high <= 0xDBFF else { return high }
            guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                  bytes[position + 1] == UInt8(ascii: "u") else { throw failure("unpaired high surrogate") }
            position += 2
            let low = try parseHex4()
            guard low >= 0xDC00, low <= 0xDFFF else { throw failure("invalid low surrogate") }
            return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        }

        mutating func parseString() throws(NodeError) -> String {
            position += 1
            var output: [UInt8] = []
            while true {
                guard let byte = current else { throw failure("unterminated string") }
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard UTF8Text.isValid(output) else { throw failure("string is not valid UTF-8") }
                    return String(decoding: output, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    position += 1
                    guard let escape = current else { throw failure("unterminated escape") }
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "u"): UTF8Text.append(scalar: try parseEscapedScalar(), to: &output)
                    default:
                        position -= 1
                        throw failure("invalid escape")
                    }
                case 0x00..<0x20:
                    throw failure("control character in string")
                default:
                    output.append(byte)
                    position += 1
                }
            }
        }
    }
}
