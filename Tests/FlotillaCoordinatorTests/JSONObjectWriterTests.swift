import Foundation
import Testing

@testable import FlotillaCoordinator

/// The translation's JSON writer against Foundation's reader: what it writes parses back to the
/// same document, with booleans, integers and strings kept as they were.
@Suite struct JSONObjectWriterTests {
    static func written(_ json: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        return String(decoding: try #require(JSONObjectWriter.data(object)), as: UTF8.self)
    }

    @Test(arguments: [
        (#"{"b":true,"a":1,"c":false,"d":null}"#, #"{"a":1,"b":true,"c":false,"d":null}"#),
        (#"{"n":[0,1,-7,12345678901234,1.5,-0.25,2e-7]}"#, #"{"n":[0,1,-7,12345678901234,1.5,-0.25,2e-07]}"#),
        (#"{"s":"a \"q\" \\ / é 🚀 \n\t\r\u0001\u001f"}"#, #"{"s":"a \"q\" \\ / é 🚀 \n\t\r\u0001\u001f"}"#),
        (#"{"nested":{"z":[{"y":[]},{}],"a":"x"}}"#, #"{"nested":{"a":"x","z":[{"y":[]},{}]}}"#),
    ])
    func aParsedDocumentIsWrittenCompactWithSortedKeys(_ input: String, _ expected: String) throws {
        #expect(try Self.written(input) == expected)
        let again = try JSONSerialization.jsonObject(with: Data(try Self.written(input).utf8)) as? NSDictionary
        #expect(again == (try JSONSerialization.jsonObject(with: Data(input.utf8)) as? NSDictionary))
    }

    @Test func swiftLiteralsKeepTheirKind() throws {
        let object: [String: Any] = ["flag": true, "count": 3, "big": Int64(1) << 40, "ratio": 0.5, "whole": 2.0, "none": NSNull(),
                                     "list": [1, "two", false] as [Any]]
        let text = String(decoding: try #require(JSONObjectWriter.data(object)), as: UTF8.self)
        #expect(text == #"{"big":1099511627776,"count":3,"flag":true,"list":[1,"two",false],"none":null,"ratio":0.5,"whole":2}"#)
    }

    @Test func whatJSONCannotCarryIsRefused() {
        #expect(JSONObjectWriter.data(["x": Double.nan]) == nil)
        #expect(JSONObjectWriter.data(["x": Date()]) == nil)
    }
}
