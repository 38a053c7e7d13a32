import Testing
@testable import FlotillaNode

/// Failing over between coordinators: which failures move the node on, when it backs off, and
/// its return to the preferred coordinator.
@Suite struct CoordinatorListTests {
    static let urls = ["https://a:7443", "https://b:7443", "https://c:7443"]

    @Test func connectionAndServerFailuresMoveOnAndAWholeRoundBacksOff() {
        var list = CoordinatorList(urls: Self.urls)
        #expect(list.current == "https://a:7443")
        let moved1 = list.failed(.network(curlCode: 7, message: "connection refused"), nowMilliseconds: 0)
        #expect(moved1)
        #expect(list.current == "https://b:7443")
        let moved2 = list.failed(.unexpectedStatus(503), nowMilliseconds: 0)
        #expect(moved2)
        #expect(list.current == "https://c:7443")
        // Past the last one the round is over: back at the preferred coordinator, after a backoff.
        let moved3 = list.failed(.rejected(status: 500, code: "internal", message: "x"), nowMilliseconds: 0)
        #expect(!moved3)
        #expect(list.current == "https://a:7443")
    }

    @Test func refusalsOfTheNodeItselfStayPut() {
        var list = CoordinatorList(urls: Self.urls)
        for error: NodeError in [.rejected(status: 403, code: "node_revoked", message: "revoked"), .rejected(status: 429, code: "rate_limited", message: "slow"),
                                 .unexpectedStatus(404), .invalidField("x")] {
            let moved4 = list.failed(error, nowMilliseconds: 0)
            #expect(!moved4)
            #expect(list.current == "https://a:7443")
        }
    }

    @Test func aNodeAwayFromItsPreferredCoordinatorReturnsAfterFiveMinutes() {
        var list = CoordinatorList(urls: Self.urls)
        _ = list.failed(.network(curlCode: 7, message: "refused"), nowMilliseconds: 1_000)
        let moved5 = list.returnToPreferredIfDue(nowMilliseconds: 1_000 + CoordinatorList.returnAfterMilliseconds - 1)
        #expect(!moved5)
        #expect(list.current == "https://b:7443")
        let moved6 = list.returnToPreferredIfDue(nowMilliseconds: 1_000 + CoordinatorList.returnAfterMilliseconds)
        #expect(moved6)
        #expect(list.current == "https://a:7443")
        let moved7 = list.returnToPreferredIfDue(nowMilliseconds: .max)
        #expect(!moved7, "on the preferred one there is nothing to return to")
    }

    @Test func aSingleCoordinatorNeverMoves() {
        var list = CoordinatorList(urls: ["https://only:7443"])
        let moved8 = list.failed(.network(curlCode: 7, message: "refused"), nowMilliseconds: 0)
        #expect(!moved8)
        #expect(list.current == "https://only:7443")
    }

    @Test func nodeJSONKeepsTheListAndOldFilesGetTheirOneURL() throws {
        let identity = NodeIdentity(nodeID: "n", name: "b", group: "g", coordinatorURL: "https://a:7443", coordinators: Self.urls)
        let reread = try NodeIdentity(json: try JSONParser().parse(JSONWriter.encode(identity.json())))
        #expect(reread.coordinators == Self.urls)
        let old = try NodeIdentity(json: try JSONParser().parse(Array(#"{"node_id":"n","name":"b","group":"g","coordinator_url":"https://a:7443/"}"#.utf8)))
        #expect(old.coordinators == ["https://a:7443"])
        #expect(throws: NodeError.self) {
            try NodeIdentity(json: try JSONParser().parse(Array(#"{"node_id":"n","name":"b","group":"g","coordinator_url":"https://a","coordinators":["http://b"]}"#.utf8)))
        }
    }
}
