import Testing
@testable import FlotillaNode

@Suite("JSON parser and writer")
struct JSONTests {
    private func parse(_ text: String, maxBytes: Int = 1 << 20, maxDepth: Int = 64) throws(NodeError) -> JSONValue {
        try JSONParser(maxBytes: maxBytes, maxDepth: maxDepth).parse(Array(text.utf8))
    }

    private func text(_ value: JSONValue) -> String {
        String(decoding: JSONWriter.encode(value), as: UTF8.self)
    }

    @Test func parsesScalarsAndNesting() throws {
        let value = try parse(#" { "a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"} } "#)
        let array = try #require(value["a"]?.arrayValue)
        #expect(array.count == 7)
        #expect(array[0].intValue == 1)
        #expect(array[1].intValue == -2)
        #expect(array[2].doubleValue == 3.5)
        if case .int = array[3] { Issue.record("1e3 must be a double") }
        #expect(array[3].doubleValue == 1000)
        #expect(array[4].boolValue == true)
        #expect(array[5].boolValue == false)
        if case .null = array[6] {} else { Issue.record("expected null") }
        #expect(value["b"]?["c"]?.stringValue == "d")
        #expect(value["missing"] == nil)
    }

    @Test func integersBeyondInt64BecomeDoubles() throws {
        let value = try parse("[9223372036854775807, -9223372036854775808, 9223372036854775808]")
        let array = try #require(value.arrayValue)
        #expect(array[0].intValue == Int64.max)
        #expect(array[1].intValue == Int64.min)
        if case .double(let big) = array[2] { #expect(big == 9223372036854775808.0) } else { Issue.record("expected double") }
    }

    /// Found by the json fuzz target: negative zero was written "-0", which reads back as the
    /// integer 0, so a config rewritten twice changed.
    @Test func negativeZeroSurvivesARoundTrip() throws {
        let written = JSONWriter.encode(try parse("[0,-0.0,-0,1.5]"))
        #expect(String(decoding: written, as: UTF8.self) == "[0,-0.0,0,1.5]")
        #expect(JSONWriter.encode(try JSONParser().parse(written)) == written)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try parse(#"["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u2014", "\ud83d\ude00", "caf\u00E9", "日本"]"#)
        let array = try #require(value.arrayValue)
        #expect(array[0].stringValue == "a\"b\\c/d\u{8}\u{C}\n\r\t")
        #expect(array[1].stringValue == "é—")
        #expect(array[2].stringValue == "😀")
        #expect(array[3].stringValue == "café")
        #expect(array[4].stringValue == "日本")
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[01]", "[1.]", "[.5]", "[-]", "[1e]", "[+1]",
        "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"",
        "\"tab\tinside\"", "tru", "nul", "[1] 2", "{\"a\":1,\"a\":2}", "{1:2}", "[1e999]", "NaN",
    ])
    func rejectsMalformedInput(_ input: String) {
        #expect(throws: NodeError.self) { try parse(input) }
        do {
            _ = try parse(input)
        } catch {
            #expect(error.code == "invalid_json", "\(input) gave \(error)")
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: NodeError.self) { try JSONParser().parse(bytes) }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        #expect(throws: NodeError.self) { try JSONParser().parse(overlong) }
        let surrogate: [UInt8] = [0x22, 0xED, 0xA0, 0x80, 0x22]
        #expect(throws: NodeError.self) { try JSONParser().parse(surrogate) }
    }

    @Test func enforcesDepthAndSizeLimits() throws {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        _ = try parse(deep, maxDepth: 10)
        do {
            _ = try parse(deep, maxDepth: 9)
            Issue.record("depth limit not enforced")
        } catch {
            #expect(error.code == "json_limit_exceeded")
        }
        do {
            _ = try parse("\"0123456789\"", maxBytes: 8)
            Issue.record("size limit not enforced")
        } catch {
            #expect(error.code == "json_limit_exceeded")
        }
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: NodeError.self) { try parse(hostile) }
    }

    @Test func writesCompactEscapedJSON() {
        let value = JSONValue.object([
            JSONMember("s", .string("q\"b\\n\n\u{1}é")),
            JSONMember("i", .int(-42)),
            JSONMember("d", .double(48.312)),
            JSONMember("e", .double(1e-7)),
            JSONMember("n", .double(.nan)),
            JSONMember("a", .array([.bool(true), .null])),
        ])
        #expect(text(value) == #"{"s":"q\"b\\n\n\u0001é","i":-42,"d":48.312,"e":1e-07,"n":null,"a":[true,null]}"#)
    }

    @Test func roundTripsThroughWriterAndParser() throws {
        let original = JSONValue.object([
            JSONMember("text", .string("line\nbreak \"quoted\" 😀 \u{0}")),
            JSONMember("numbers", .array([.int(0), .int(Int64.min), .double(0.1), .double(-3.5e300), .double(86400.5)])),
            JSONMember("nested", .object([JSONMember("empty", .array([])), JSONMember("obj", .object([]))])),
        ])
        let reparsed = try JSONParser().parse(JSONWriter.encode(original))
        #expect(reparsed["text"]?.stringValue == "line\nbreak \"quoted\" 😀 \u{0}")
        let numbers = try #require(reparsed["numbers"]?.arrayValue)
        #expect(numbers.map { $0.doubleValue } == [0, Double(Int64.min), 0.1, -3.5e300, 86400.5])
        #expect(reparsed["nested"]?["empty"]?.arrayValue?.isEmpty == true)
        #expect(text(reparsed) == text(original))
    }
}
