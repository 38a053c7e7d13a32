import FlotillaProtocol
import Foundation
import Testing

/// JSON values compare as JSON: object members in any order, array elements in order.
@Suite struct JSONDocumentTests {
    @Test func objectsAreEqualWhateverTheirMemberOrderArraysOnlyInOrder() throws {
        let written: JSONDocument = .object([.init("version", .int(3)), .init("model_list", .array([
            .object([.init("model_name", .string("local")), .init("model", .string("llama3"))]),
        ]))])
        // The same config after a trip through JSON (decoding sorts the keys).
        let decoded = try JSONDecoder().decode(JSONDocument.self, from: JSONEncoder().encode(written))
        guard case .object(let members) = decoded else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["model_list", "version"])
        #expect(decoded == written)
        #expect(decoded.leafPaths() == written.leafPaths())

        #expect(JSONDocument.array([.int(1), .int(2)]) != .array([.int(2), .int(1)]))
        #expect(JSONDocument.object([.init("a", .int(1))]) != .object([.init("a", .int(1)), .init("b", .null)]))
        #expect(JSONDocument.object([.init("a", .int(1))]) != .object([.init("a", .int(2))]))
        #expect(JSONDocument.object([.init("a", .int(1))]) != .object([.init("b", .int(1))]))
        #expect(JSONDocument.int(1) != .double(1))
    }
}
