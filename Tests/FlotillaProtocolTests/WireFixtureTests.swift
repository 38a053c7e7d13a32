import FlotillaProtocol
import Foundation
import Testing

/// The JSON fixtures in Tests/Fixtures/wire are the contract with the node agent: every one must
/// decode with the Codable wire types, and encoding the decoded value must give the fixture back.
@Suite struct WireFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // FlotillaProtocolTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/wire", isDirectory: true)

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: try data(name))
    }

    static func object(_ data: Data) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    /// Encodes `value` and compares it, as a JSON object, with the fixture minus `ignoring` keys.
    static func expectRoundTrip<T: Encodable>(
        _ value: T, _ name: String, ignoring: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let encoded = try object(try JSONEncoder().encode(value))
        let fixture = try object(try data(name)).mutableCopy() as! NSMutableDictionary
        for key in ignoring { fixture.removeObject(forKey: key) }
        #expect(encoded.isEqual(fixture), "\(name): encoded \(encoded) != fixture \(fixture)", sourceLocation: sourceLocation)
        #expect(Set(encoded.allKeys.compactMap { $0 as? String }) == Set(fixture.allKeys.compactMap { $0 as? String }), sourceLocation: sourceLocation)
    }

    @Test func everyFixtureIsCovered() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path).filter { $0.hasSuffix(".json") }
        #expect(Set(names) == [
            "enroll-request.json", "enroll-response.json", "heartbeat-request.json", "heartbeat-response.json",
            "renew-request.json", "renew-response.json", "error.json", "node-conf.json",
            "root-v1.json", "root-v2.json", "release-v1.json", "gateway-key-response.json",
        ])
    }

    @Test func gatewayKeyResponse() throws {
        let response = try Self.decode(GatewayKeyResponse.self, "gateway-key-response.json")
        #expect(response.gatewayKey.hasPrefix("flt_gw_"))
        #expect(response.gatewayKeyID.count == GatewayKeyID.hexDigits)
        try Self.expectRoundTrip(response, "gateway-key-response.json")
    }

    @Test func enrollRequest() throws {
        let request = try Self.decode(EnrollRequest.self, "enroll-request.json")
        #expect(request.token == "flt_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE")
        #expect(request.name == "board-01")
        #expect(NameRules.isValidNodeName(request.name))
        #expect(request.csrPEM.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\nMIHK"))
        #expect(request.csrPEM.hasSuffix("-----END CERTIFICATE REQUEST-----\n"))
        #expect(request.agentVersion == "0.1.0")
        #expect(request.arch == "riscv64")
        try Self.expectRoundTrip(request, "enroll-request.json")
    }

    @Test func enrollResponse() throws {
        let response = try Self.decode(EnrollResponse.self, "enroll-response.json")
        #expect(response.nodeID == "6f1c2a4e-3b7d-4c1a-9e2f-8a5b0c9d1e7f")
        #expect(response.name == "board-01")
        #expect(response.group == "edge")
        #expect(response.status == .pending)
        #expect(response.certificatePEM == "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYm9hcmQ=\n-----END CERTIFICATE-----\n")
        #expect(response.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
        #expect(response.certificateExpiresAt == "2026-12-24T18:00:00Z")
        #expect(response.heartbeatIntervalSeconds == 15)
        #expect(response.gatewayKey == "flt_gw_6Jq3tV0lX9cB2nR8kP1wZ4yH7sD5fG0aE3uM6iO9eQ2")
        try Self.expectRoundTrip(response, "enroll-response.json")
    }

    @Test func heartbeatRequest() throws {
        let request = try Self.decode(HeartbeatRequest.self, "heartbeat-request.json")
        #expect(request.sequence == 42)
        #expect(request.agentVersion == "0.1.0")
        #expect(request.arch == "aarch64")
        #expect(request.kernel == "6.6.31-flotilla")
        #expect(request.uptimeSeconds == 86_400.5)
        #expect(request.load1m == 0.25)
        #expect(request.load5m == 0.5)
        #expect(request.load15m == 1.75)
        #expect(request.cpuPercent == 12.5)
        #expect(request.memTotalBytes == 268_435_456)
        #expect(request.memAvailableBytes == 134_217_728)
        #expect(request.diskTotalBytes == 31_914_983_424)
        #expect(request.diskFreeBytes == 20_401_094_656)
        #expect(request.temperatures == [
            TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.312),
            TemperatureReading(zone: "thermal_zone1", type: "gpu-thermal", celsius: -3.5),
        ])
        #expect(request.maxTemperatureCelsius == 48.312)
        #expect(request.localModel == "up")
        try Self.expectRoundTrip(request, "heartbeat-request.json")
    }

    @Test func heartbeatRequestWithOmittedReadingsDecodesAsNil() throws {
        let request = try JSONDecoder().decode(HeartbeatRequest.self, from: Data(#"{"sequence": 1, "future_key": [1]}"#.utf8))
        #expect(request.sequence == 1)
        #expect(request.cpuPercent == nil)
        #expect(request.temperatures == nil)
        #expect(request.maxTemperatureCelsius == nil)
    }

    @Test func heartbeatResponse() throws {
        let response = try Self.decode(HeartbeatResponse.self, "heartbeat-response.json")
        #expect(response == HeartbeatResponse(
            status: .active, heartbeatIntervalSeconds: 15, renewCertificate: true, serverTime: "2026-11-24T18:00:00Z",
            gatewayKeyID: "5b9c0f2e7a1d3c4b"
        ))
        try Self.expectRoundTrip(response, "heartbeat-response.json")
    }

    @Test func renewRequest() throws {
        let request = try Self.decode(RenewRequest.self, "renew-request.json")
        #expect(request.csrPEM == "-----BEGIN CERTIFICATE REQUEST-----\nMIHKMHICAQAwEzERMA8GA1UEAwwIYm9hcmQtMDE=\n-----END CERTIFICATE REQUEST-----\n")
        try Self.expectRoundTrip(request, "renew-request.json")
    }

    @Test func renewResponse() throws {
        let response = try Self.decode(RenewResponse.self, "renew-response.json")
        #expect(response.certificatePEM == "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUcmVuZXc=\n-----END CERTIFICATE-----\n")
        #expect(response.certificateExpiresAt == "2027-01-23T18:00:00Z")
        #expect(response.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
        try Self.expectRoundTrip(response, "renew-response.json")
    }

    @Test func errorBody() throws {
        let body = try Self.decode(ErrorBody.self, "error.json")
        #expect(body.error.code == "token_expired")
        #expect(body.code == .tokenExpired)
        #expect(body.code?.httpStatus == 401)
        #expect(body.error.message == "enrollment token expired at 2026-11-23T10:00:00Z \u{2014} ask for a new one")
        #expect(body == ErrorBody(code: .tokenExpired, message: body.error.message))
        try Self.expectRoundTrip(body, "error.json")
    }

    @Test func errorBodyWithUnknownCodeStillDecodes() throws {
        let body = try JSONDecoder().decode(ErrorBody.self, from: Data(#"{"error":{"code":"from_the_future","message":"m"}}"#.utf8))
        #expect(body.error.code == "from_the_future")
        #expect(body.code == nil)
    }

    @Test func nodeConf() throws {
        let conf = try Self.decode(NodeConf.self, "node-conf.json")
        #expect(conf.coordinatorURL == "https://coordinator.lan:7443")
        #expect(conf.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
        #expect(conf.caSHA256 == "3f0c5e8a9b1d2c4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6")
        #expect(conf.token == "flt_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE")
        #expect(conf.group == "edge")
        // "comment" is an unknown key: ignored when decoding, absent when encoding.
        try Self.expectRoundTrip(conf, "node-conf.json", ignoring: ["comment"])
    }

    @Test func requiredFieldMissingFailsToDecode() {
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(EnrollResponse.self, from: Data(#"{"node_id":"x","name":"b"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            _ = try JSONDecoder().decode(HeartbeatResponse.self, from: Data(#"{"status":"sleeping","heartbeat_interval_seconds":15,"renew_certificate":false,"server_time":"t"}"#.utf8))
        }
    }
}
