import FlotillaProtocol
import Foundation
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// The hand-written hot-path JSON must decode to the same values JSONEncoder would produce.
@Suite struct HeartbeatJSONTests {
    @Test(arguments: [(true, "5b9c0f2e7a1d3c4b"), (false, nil)] as [(Bool, String?)])
    func responseDecodesToTheSameValue(renew: Bool, keyID: String?) throws {
        let response = HeartbeatResponse(
            status: .active, heartbeatIntervalSeconds: 15, renewCertificate: renew, serverTime: "2026-11-24T18:00:00Z",
            gatewayKeyID: keyID
        )
        let buffer = HeartbeatJSON.response(response)
        let decoded = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(buffer.readableBytesView))
        #expect(decoded == response)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(buffer: buffer) == String(decoding: try encoder.encode(response), as: UTF8.self))
    }

    @Test func temperaturesRoundTripIncludingEscapes() throws {
        let readings = [
            TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.312),
            TemperatureReading(zone: "zone \"quoted\" \\ back\nline\u{01}", type: nil, celsius: -3.5),
            TemperatureReading(zone: "z", type: "t", celsius: 45),
        ]
        let text = HeartbeatJSON.temperatures(readings)
        #expect(try JSONDecoder().decode([TemperatureReading].self, from: Data(text.utf8)) == readings)
        #expect(HeartbeatJSON.temperatures([]) == "[]")
    }

    @Test func serverTimeIsRFC3339OfTheCurrentSecond() {
        let now = Date(timeIntervalSince1970: 1_795_545_600.7)
        #expect(HeartbeatJSON.serverTime(now) == "2026-11-24T18:40:00Z")
        #expect(HeartbeatJSON.serverTime(now.addingTimeInterval(0.2)) == "2026-11-24T18:40:00Z")
        #expect(HeartbeatJSON.serverTime(now.addingTimeInterval(1)) == "2026-11-24T18:40:01Z")
    }
}
