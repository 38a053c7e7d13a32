import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCoordinator

/// The heartbeat fast path must agree with JSONDecoder on every input it accepts, and hand
/// everything it does not handle to JSONDecoder.
@Suite struct HeartbeatDecoderTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire/heartbeat-request.json")

    @Test func agreesWithJSONDecoderOnTheSharedFixture() throws {
        let data = try Data(contentsOf: Self.fixture)
        let fast = try #require(HeartbeatDecoder.decode(Array(data)))
        #expect(fast == (try JSONDecoder().decode(HeartbeatRequest.self, from: data)))
        #expect(fast.temperatures?.count == 2)
        #expect(fast.memTotalBytes == 268_435_456)
    }

    @Test func readsLocalModelAsJSONDecoderDoes() throws {
        for (text, expected) in [(#"{"local_model":"down"}"#, "down"), (#"{"local_model":null}"#, nil), (#"{"sequence":1}"#, nil)] as [(String, String?)] {
            let fast = try #require(HeartbeatDecoder.decode(Array(text.utf8)), "\(text)")
            #expect(fast.localModel == expected, "\(text)")
            #expect(try JSONDecoder().decode(HeartbeatRequest.self, from: Data(text.utf8)).localModel == expected, "\(text)")
        }
    }

    @Test(arguments: [
        #"{}"#,
        #" { "cpu_percent" : 12 , "kernel" : "6.1" } "#,
        #"{"sequence":-0,"load_1m":1e-3,"uptime_seconds":1.5E+2,"temperatures":null}"#,
        #"{"temperatures":[],"arch":null}"#,
        #"{"unknown":{"nested":[1,2,{"a":true,"b":false,"c":null}]},"arch":"riscv64"}"#,
        #"{"temperatures":[{"zone":"z","celsius":-3.5,"extra":[1]}]}"#,
        #"{"kernel":"ünïcode ✓"}"#,
        #"{"local_model":"up","cpu_percent":3}"#,
        #"{"local_model":"down"}"#,
        #"{"local_model":null}"#,
        // Any string reads the same on both paths; HeartbeatValidation refuses it after either.
        #"{"local_model":"sideways"}"#,
    ])
    func agreesWithJSONDecoderOnAcceptedShapes(_ text: String) throws {
        let fast = try #require(HeartbeatDecoder.decode(Array(text.utf8)))
        #expect(fast == (try JSONDecoder().decode(HeartbeatRequest.self, from: Data(text.utf8))))
    }

    /// Inputs the fast path leaves to JSONDecoder: escapes, integral numbers in other spellings,
    /// duplicates, and every kind of invalid document.
    @Test(arguments: [
        #"{"temperatures":[{"zone":"a","type":"x","type":"y","celsius":1.5}]}"#, #"{"kernel":"a\"b"}"#, #"{"sequence":1.0}"#, #"{"sequence":1e3}"#, #"{"arch":"x","arch":"y"}"#,
        #"{"cpu_percent":1e400}"#, #"{"temperatures":[{"celsius":1}]}"#, #"{"cpu_percent":"high"}"#,
        #"{"cpu_percent":01}"#, #"{"cpu_percent":.5}"#, #"{"cpu_percent":1.}"#, #"{not json"#, #"[]"#, #"{"load_5m": 0e2}"#, #"{"load_1m":-0E+1}"#,
        #"{"a":1}x"#, #"{"a":1,}"#, #"{"a" 1}"#, #"{"a":tru}"#, "", #"{"mem_total_bytes":99999999999999999999}"#,
        #"{"local_model":"up","local_model":"down"}"#, #"{"local_model":"\u0075p"}"#, #"{"local_model":true}"#, #"{"local_model":1}"#,
    ])
    func leavesOtherInputToJSONDecoder(_ text: String) {
        #expect(HeartbeatDecoder.decode(Array(text.utf8)) == nil)
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        let bytes = Array(#"{"kernel":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(HeartbeatDecoder.decode(bytes) == nil)
    }
}
