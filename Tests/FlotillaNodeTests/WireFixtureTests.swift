import Testing
@testable import FlotillaNode

@Suite("Shared wire fixtures")
struct WireFixtureTests {
    @Test func enrollRequestFixtureRoundTrips() throws {
        let fixture = try EnrollRequest(json: try TestSupport.fixtureJSON("enroll-request.json"))
        #expect(fixture.token == "flt_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE")
        #expect(fixture.name == "board-01")
        #expect(fixture.csrPEM.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\nMIHKMHICAQAw"))
        #expect(fixture.csrPEM.hasSuffix("-----END CERTIFICATE REQUEST-----\n"))
        #expect(fixture.agentVersion == "0.1.0")
        #expect(fixture.arch == "riscv64")

        let encoded = EnrollRequest(token: fixture.token, name: fixture.name, csrPEM: fixture.csrPEM,
                                    agentVersion: fixture.agentVersion, arch: fixture.arch)
        let decoded = try EnrollRequest(json: try JSONParser().parse(JSONWriter.encode(encoded.json())))
        #expect(decoded.token == fixture.token)
        #expect(decoded.name == fixture.name)
        #expect(decoded.csrPEM == fixture.csrPEM)
        #expect(decoded.agentVersion == fixture.agentVersion)
        #expect(decoded.arch == fixture.arch)
    }

    @Test func enrollResponseFixture() throws {
        let response = try EnrollResponse(json: try TestSupport.fixtureJSON("enroll-response.json"))
        #expect(response.nodeID == "6f1c2a4e-3b7d-4c1a-9e2f-8a5b0c9d1e7f")
        #expect(response.name == "board-01")
        #expect(response.group == "edge")
        #expect(response.status == "pending")
        #expect(response.certificatePEM == "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUYm9hcmQ=\n-----END CERTIFICATE-----\n")
        #expect(response.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
        #expect(response.certificateExpiresAt == "2026-12-24T18:00:00Z")
        #expect(response.heartbeatIntervalSeconds == 15)
        #expect(response.gatewayKey == "flt_gw_6Jq3tV0lX9cB2nR8kP1wZ4yH7sD5fG0aE3uM6iO9eQ2")
    }

    /// The agent reads `POST /v1/gateway-key`'s answer the way the coordinator writes it.
    @Test func gatewayKeyResponseFixture() throws {
        let json = try TestSupport.fixtureJSON("gateway-key-response.json")
        #expect(GatewayKey.validated(try json.requiredString("gateway_key")) == "flt_gw_6Jq3tV0lX9cB2nR8kP1wZ4yH7sD5fG0aE3uM6iO9eQ2")
        #expect(try json.requiredString("gateway_key_id") == "5b9c0f2e7a1d3c4b")
    }

    @Test func errorFixture() throws {
        let error = try ErrorResponse(json: try TestSupport.fixtureJSON("error.json"))
        #expect(error.code == "token_expired")
        #expect(error.message == "enrollment token expired at 2026-11-23T10:00:00Z \u{2014} ask for a new one")
    }

    @Test func heartbeatRequestFixtureRoundTrips() throws {
        let fixture = try HeartbeatRequest(json: try TestSupport.fixtureJSON("heartbeat-request.json"))
        #expect(fixture.sequence == 42)
        #expect(fixture.agentVersion == "0.1.0")
        #expect(fixture.arch == "aarch64")
        #expect(fixture.kernel == "6.6.31-flotilla")
        #expect(fixture.uptimeSeconds == 86400.5)
        #expect(fixture.load1m == 0.25)
        #expect(fixture.load5m == 0.5)
        #expect(fixture.load15m == 1.75)
        #expect(fixture.cpuPercent == 12.5)
        #expect(fixture.memTotalBytes == 268_435_456)
        #expect(fixture.memAvailableBytes == 134_217_728)
        #expect(fixture.diskTotalBytes == 31_914_983_424)
        #expect(fixture.diskFreeBytes == 20_401_094_656)
        #expect(fixture.temperatures.count == 2)
        #expect(fixture.temperatures[0].zone == "thermal_zone0")
        #expect(fixture.temperatures[0].type == "cpu-thermal")
        #expect(fixture.temperatures[0].celsius == 48.312)
        #expect(fixture.temperatures[1].zone == "thermal_zone1")
        #expect(fixture.temperatures[1].type == "gpu-thermal")
        #expect(fixture.temperatures[1].celsius == -3.5)
        #expect(fixture.localModel == "up")

        var readings = SystemReadings()
        readings.arch = "aarch64"
        readings.kernel = "6.6.31-flotilla"
        readings.uptimeSeconds = 86400.5
        readings.load = LoadAverage(one: 0.25, five: 0.5, fifteen: 1.75)
        readings.cpuPercent = 12.5
        readings.memory = MemoryReading(totalBytes: 268_435_456, availableBytes: 134_217_728)
        readings.disk = DiskReading(totalBytes: 31_914_983_424, freeBytes: 20_401_094_656)
        readings.temperatures = [ThermalReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.312),
                                 ThermalReading(zone: "thermal_zone1", type: "gpu-thermal", celsius: -3.5)]
        var request = HeartbeatRequest(sequence: 42, agentVersion: AgentInfo.version)
        request.apply(readings)
        request.localModel = "up"
        let encoded = JSONWriter.encode(request.json())
        let fixtureKeys = try keys(TestSupport.fixtureJSON("heartbeat-request.json"))
        let reparsed = try JSONParser().parse(encoded)
        #expect(try keys(reparsed) == fixtureKeys)
        let decoded = try HeartbeatRequest(json: reparsed)
        #expect(decoded.sequence == fixture.sequence)
        #expect(decoded.agentVersion == fixture.agentVersion)
        #expect(decoded.arch == fixture.arch)
        #expect(decoded.kernel == fixture.kernel)
        #expect(decoded.uptimeSeconds == fixture.uptimeSeconds)
        #expect(decoded.load1m == fixture.load1m)
        #expect(decoded.load5m == fixture.load5m)
        #expect(decoded.load15m == fixture.load15m)
        #expect(decoded.cpuPercent == fixture.cpuPercent)
        #expect(decoded.memTotalBytes == fixture.memTotalBytes)
        #expect(decoded.memAvailableBytes == fixture.memAvailableBytes)
        #expect(decoded.diskTotalBytes == fixture.diskTotalBytes)
        #expect(decoded.diskFreeBytes == fixture.diskFreeBytes)
        #expect(decoded.temperatures.map(\.zone) == fixture.temperatures.map(\.zone))
        #expect(decoded.temperatures.map(\.type) == fixture.temperatures.map(\.type))
        #expect(decoded.temperatures.map(\.celsius) == fixture.temperatures.map(\.celsius))
        #expect(decoded.localModel == fixture.localModel)
        #expect(String(decoding: encoded, as: UTF8.self).contains(#""celsius":48.312"#))
    }

    @Test func heartbeatOmitsReadingsThatCouldNotBeTaken() throws {
        var request = HeartbeatRequest(sequence: 1, agentVersion: "0.1.0")
        request.cpuPercent = .nan
        request.memTotalBytes = 1024
        let json = try JSONParser().parse(JSONWriter.encode(request.json()))
        #expect(try keys(json) == ["sequence", "agent_version", "mem_total_bytes", "temperatures"])
        #expect(json["temperatures"]?.arrayValue?.isEmpty == true)
    }

    @Test func heartbeatResponseFixture() throws {
        let response = try HeartbeatResponse(json: try TestSupport.fixtureJSON("heartbeat-response.json"))
        #expect(response.status == "active")
        #expect(response.heartbeatIntervalSeconds == 15)
        #expect(response.renewCertificate == true)
        #expect(response.serverTime == "2026-11-24T18:00:00Z")
        #expect(response.hasGateway)
        #expect(response.gatewayKeyID == "5b9c0f2e7a1d3c4b")
    }

    /// Absent `gateway_key_id`: a coordinator without the gateway; null: no key issued yet.
    @Test func heartbeatWithoutOrWithNullGatewayKeyID() throws {
        let base = #""status":"active","heartbeat_interval_seconds":15,"renew_certificate":false,"server_time":"2026-11-24T18:00:00Z""#
        let old = try HeartbeatResponse(json: try JSONParser().parse(Array("{\(base)}".utf8)))
        #expect(!old.hasGateway)
        #expect(old.gatewayKeyID == nil)
        let none = try HeartbeatResponse(json: try JSONParser().parse(Array("{\(base),\"gateway_key_id\":null}".utf8)))
        #expect(none.hasGateway)
        #expect(none.gatewayKeyID == nil)
    }

    @Test func gatewayKeysMustBePrintable() {
        #expect(GatewayKey.validated("flt_gw_abc-DEF_123") == "flt_gw_abc-DEF_123")
        #expect(GatewayKey.validated("") == nil)
        #expect(GatewayKey.validated("has space") == nil)
        #expect(GatewayKey.validated("line\nbreak") == nil)
        #expect(GatewayKey.validated(String(repeating: "k", count: 257)) == nil)
    }

    @Test func renewFixtures() throws {
        let request = try RenewRequest(json: try TestSupport.fixtureJSON("renew-request.json"))
        #expect(request.csrPEM == "-----BEGIN CERTIFICATE REQUEST-----\nMIHKMHICAQAwEzERMA8GA1UEAwwIYm9hcmQtMDE=\n-----END CERTIFICATE REQUEST-----\n")
        let reencoded = try RenewRequest(json: try JSONParser().parse(JSONWriter.encode(RenewRequest(csrPEM: request.csrPEM).json())))
        #expect(reencoded.csrPEM == request.csrPEM)
        #expect(try keys(JSONParser().parse(JSONWriter.encode(request.json()))) == keys(TestSupport.fixtureJSON("renew-request.json")))

        let response = try RenewResponse(json: try TestSupport.fixtureJSON("renew-response.json"))
        #expect(response.certificatePEM == "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUcmVuZXc=\n-----END CERTIFICATE-----\n")
        #expect(response.certificateExpiresAt == "2027-01-23T18:00:00Z")
        #expect(response.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
    }

    @Test func nodeConfFixture() throws {
        let config = try NodeConfig(bytes: try TestSupport.fixture("node-conf.json"))
        #expect(config.coordinatorURL == "https://coordinator.lan:7443")
        #expect(config.caPEM == "-----BEGIN CERTIFICATE-----\nMIIBfzCCASWgAwIBAgIUY2E=\n-----END CERTIFICATE-----\n")
        #expect(config.caSHA256 == "3f0c5e8a9b1d2c4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6")
        #expect(config.token == "flt_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE")
        #expect(config.group == "edge")
        #expect(config.coordinators == ["https://coordinator.lan:7443", "https://coordinator-2.lan:7443"])
    }

    @Test func missingFieldIsATypedError() throws {
        do {
            _ = try HeartbeatResponse(json: try JSONParser().parse(Array(#"{"status":"active"}"#.utf8)))
            Issue.record("missing fields accepted")
        } catch {
            #expect(error.code == "invalid_field")
            #expect(error.message.contains("heartbeat_interval_seconds"))
        }
    }

    private func keys(_ value: JSONValue) throws -> [String] {
        guard case .object(let members) = value else { throw TestFailure(message: "not an object") }
        return members.map(\.key)
    }
}
