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

    /// A coordinator copy in PicoClaw's config names the model it copies; nothing else with the
    /// separator routes anywhere.
    @Test func coordinatorCopiesNameTheirModel() {
        #expect(PicoClawModelList.fleetModel(requested: "fleet-default") == "fleet-default")
        #expect(PicoClawModelList.fleetModel(requested: "fleet-default@2") == "fleet-default")
        #expect(PicoClawModelList.fleetModel(requested: "meta-llama/Llama-3.1-8B@99") == "meta-llama/Llama-3.1-8B")
        for bad in ["fleet-default@", "fleet-default@1", "fleet-default@100", "fleet-default@x", "fleet-default@+2", "fleet-default@02", "a@2@2", "fleet-default@٢"] {
            #expect(PicoClawModelList.fleetModel(requested: bad) == nil, "\(bad)")
        }
        #expect(PicoClawModelList.copyName("fleet-default", index: 0) == "fleet-default")
        #expect(PicoClawModelList.copyName("fleet-default", index: 2) == "fleet-default@3")
        #expect(!GatewayRules.isValidModelName("fleet-default@2"), "a fleet model can never look like a copy")
    }
}
