import FlotillaProtocol
import Testing

@Suite struct NameRulesTests {
    @Test(arguments: ["board-01", "a", "Pi4.kitchen", "node_7", String(repeating: "x", count: 63)])
    func acceptsValidNames(_ name: String) {
        #expect(NameRules.isValidNodeName(name))
    }

    @Test(arguments: ["", "-lead", ".hidden", "has space", "slash/name", "ünïcode", String(repeating: "x", count: 64), "../etc"])
    func refusesInvalidNames(_ name: String) {
        #expect(!NameRules.isValidNodeName(name))
    }

    @Test func everyErrorCodeHasAClientOrServerStatus() {
        for code in APIErrorCode.allCases {
            #expect((400...599).contains(code.httpStatus), "\(code.rawValue)")
        }
        #expect(APIErrorCode.nodeRevoked.httpStatus == 403)
        #expect(APIErrorCode.bodyTooLarge.httpStatus == 413)
        #expect(APIErrorCode.tokenExhausted.rawValue == "token_exhausted")
    }
}
