import Foundation

/// Where the members of one JSON object lie in its bytes, so the gateway can read `model` and
/// `stream` and splice in what metering needs while every other byte of the caller's body is
/// forwarded as sent (unknown fields, key order and number spelling included).
struct JSONSpans {
    /// One member: its decoded key and the byte range of its value.
    struct Member {
        var key: String
        var value: Range<Int>
    }

    /// The members in order, and the index of the object's closing brace.
    private(set) var members: [Member] = []
    private(set) var closingBrace: Int = 0
    /// Where the object starts (its `{`).
    private(set) var openingBrace: Int = 0

    /// Scans the object that starts at or after `start` (whitespace allowed) and, with
    /// `wholeDocument`, requires nothing but whitespace after it. Returns nil for anything that
    /// is not a well-formed JSON object.
    init?(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, wholeDocument: Bool = true) {
        var scanner = JSONByteScanner(bytes: bytes, position: start, end: end ?? bytes.count)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else { return nil }
        openingBrace = scanner.position
        scanner.position += 1
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            closingBrace = scanner.position
            scanner.position += 1
        } else {
            while true {
                scanner.skipWhitespace()
                guard let keyRange = scanner.skipString(), let key = JSONByteScanner.decodeString(bytes, keyRange) else { return nil }
                scanner.skipWhitespace()
                guard scanner.peek() == UInt8(ascii: ":") else { return nil }
                scanner.position += 1
                scanner.skipWhitespace()
                let valueStart = scanner.position
                guard scanner.skipValue(depth: 0) else { return nil }
                members.append(Member(key: key, value: valueStart..<scanner.position))
                scanner.skipWhitespace()
                guard let next = scanner.peek() else { return nil }
                scanner.position += 1
                if next == UInt8(ascii: "}") {
                    closingBrace = scanner.position - 1
                    break
                }
                guard next == UInt8(ascii: ",") else { return nil }
            }
        }
        if wholeDocument {
            scanner.skipWhitespace()
            guard scanner.position == scanner.end else { return nil }
        }
    }

    /// The last member named `key` (JSON parsers keep the last of duplicate keys).
    func member(_ key: String) -> Member? {
        members.last { $0.key == key }
    }
}

/// A cursor over JSON bytes that skips values without building them.
struct JSONByteScanner {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    /// Deepest nesting accepted, so hostile bodies cannot exhaust the stack.
    static let maxDepth = 512

    func peek() -> UInt8? { position < end ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < end, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    /// Skips a string and returns the range of its contents (between the quotes).
    mutating func skipString() -> Range<Int>? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        position += 1
        let start = position
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\") {
                position += 2
                continue
            }
            if byte == UInt8(ascii: "\"") {
                position += 1
                return start..<(position - 1)
            }
            if byte < 0x20 { return nil }
            position += 1
        }
        return nil
    }

    /// Skips one value of any type.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth, let byte = peek() else { return false }
        switch byte {
        case UInt8(ascii: "\""):
            return skipString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            position += 1
            skipWhitespace()
            if peek() == close {
                position += 1
                return true
            }
            while true {
                skipWhitespace()
                if close == UInt8(ascii: "}") {
                    guard skipString() != nil else { return false }
                    skipWhitespace()
                    guard peek() == UInt8(ascii: ":") else { return false }
                    position += 1
                    skipWhitespace()
                }
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                guard let next = peek() else { return false }
                position += 1
                if next == close { return true }
                guard next == UInt8(ascii: ",") else { return false }
            }
        default:
            // A number or a literal: a run of the bytes they are made of.
            let start = position
            while position < end {
                let b = bytes[position]
                let allowed = (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "-")
                    || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") || b == UInt8(ascii: "E")
                guard allowed else { break }
                position += 1
            }
            guard position > start else { return false }
            let text = bytes[start..<position]
            if text.elementsEqual("true".utf8) || text.elementsEqual("false".utf8) || text.elementsEqual("null".utf8) { return true }
            return Self.isNumber(text)
        }
    }

    /// RFC 8259 §6's number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. Swift's
    /// `Double(_:)` also takes `1.`, `.5`, `01` and `+1`, which are not JSON.
    static func isNumber(_ text: ArraySlice<UInt8>) -> Bool {
        var index = text.startIndex
        func digits() -> Int {
            let start = index
            while index < text.endIndex, (0x30...0x39).contains(text[index]) { index += 1 }
            return index - start
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "-") { index += 1 }
        guard index < text.endIndex else { return false }
        if text[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return false
        }
        if index < text.endIndex, text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < text.endIndex, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == text.endIndex
    }

    /// Calls `body` with the contents range of every string in `range`, in order, and whether it
    /// is a member's key (followed by `:`) rather than a value.
    static func forEachString(in bytes: [UInt8], _ range: Range<Int>, _ body: (Range<Int>, _ isKey: Bool) -> Void) {
        var scanner = JSONByteScanner(bytes: bytes, position: range.lowerBound, end: range.upperBound)
        while scanner.position < scanner.end {
            guard scanner.peek() == UInt8(ascii: "\"") else {
                scanner.position += 1
                continue
            }
            guard let string = scanner.skipString() else { return }
            var after = scanner
            after.skipWhitespace()
            body(string, after.peek() == UInt8(ascii: ":"))
        }
    }

    /// The decoded text of a string's contents.
    static func decodeString(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
        let slice = bytes[range]
        guard slice.contains(UInt8(ascii: "\\")) else { return String(decoding: slice, as: UTF8.self) }
        let quoted = [UInt8(ascii: "\"")] + slice + [UInt8(ascii: "\"")]
        return try? JSONDecoder().decode(String.self, from: Data(quoted))
    }
}

extension JSONSpans {
    /// The member's value as a string, when it is one.
    func string(_ key: String, in bytes: [UInt8]) -> String? {
        guard let member = member(key), bytes[member.value.lowerBound] == UInt8(ascii: "\"") else { return nil }
        return JSONByteScanner.decodeString(bytes, (member.value.lowerBound + 1)..<(member.value.upperBound - 1))
    }

    /// The member's value as a boolean, when it is one.
    func bool(_ key: String, in bytes: [UInt8]) -> Bool? {
        guard let member = member(key) else { return nil }
        let text = bytes[member.value]
        if text.elementsEqual("true".utf8) { return true }
        if text.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// The member's value as a whole number, when it is one.
    func integer(_ key: String, in bytes: [UInt8]) -> Int64? {
        guard let member = member(key) else { return nil }
        return Int64(String(decoding: bytes[member.value], as: UTF8.self))
    }
}
