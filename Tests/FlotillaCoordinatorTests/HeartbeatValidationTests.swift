import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCoordinator

@Suite struct HeartbeatValidationTests {
    static func plausible() -> HeartbeatRequest {
        var r = HeartbeatRequest()
        r.sequence = 7
        r.agentVersion = "0.1.0"
        r.arch = "aarch64"
        r.kernel = "6.6.31-flotilla"
        r.uptimeSeconds = 86_400.5
        r.load1m = 0.25
        r.load5m = 0.5
        r.load15m = 1.75
        r.cpuPercent = 100
        r.memTotalBytes = 268_435_456
        r.memAvailableBytes = 0
        r.diskTotalBytes = 31_914_983_424
        r.diskFreeBytes = 20_401_094_656
        r.temperatures = [
            TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.3),
            TemperatureReading(zone: "thermal_zone1", type: nil, celsius: -20),
        ]
        r.localModel = "up"
        return r
    }

    @Test func plausibleReadingsPass() throws {
        try HeartbeatValidation.validate(Self.plausible())
        // Every reading is optional.
        try HeartbeatValidation.validate(HeartbeatRequest())
        var empty = HeartbeatRequest()
        empty.temperatures = []
        try HeartbeatValidation.validate(empty)
        var full = Self.plausible()
        full.temperatures = (0..<WireLimits.maxTemperatures).map { TemperatureReading(zone: "z\($0)", type: nil, celsius: 40) }
        full.kernel = String(repeating: "k", count: HeartbeatValidation.maxTextLength)
        try HeartbeatValidation.validate(full)
        var down = Self.plausible()
        down.localModel = LocalModelHealth.down.rawValue
        try HeartbeatValidation.validate(down)
    }

    @Test(arguments: ["sideways", "UP", "", " up"])
    func localModelOtherThanUpOrDownIsRefusedByName(_ value: String) {
        var request = Self.plausible()
        request.localModel = value
        let error = #expect(throws: CoordinatorError.self) { try HeartbeatValidation.validate(request) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.message == #"local_model must be "up" or "down""#)
    }

    static let implausible: [(String, @Sendable (inout HeartbeatRequest) -> Void)] = [
        ("cpu 150", { $0.cpuPercent = 150 }),
        ("cpu negative", { $0.cpuPercent = -1 }),
        ("cpu NaN", { $0.cpuPercent = .nan }),
        ("negative memory", { $0.memAvailableBytes = -1 }),
        ("negative total memory", { $0.memTotalBytes = -4096 }),
        ("negative disk", { $0.diskFreeBytes = -1 }),
        ("negative load", { $0.load5m = -0.1 }),
        ("infinite uptime", { $0.uptimeSeconds = .infinity }),
        ("NaN temperature", { $0.temperatures = [TemperatureReading(zone: "z", type: nil, celsius: .nan)] }),
        ("inf temperature", { $0.temperatures = [TemperatureReading(zone: "z", type: nil, celsius: .infinity)] }),
        ("-inf temperature", { $0.temperatures = [TemperatureReading(zone: "z", type: nil, celsius: -.infinity)] }),
        ("below absolute zero", { $0.temperatures = [TemperatureReading(zone: "z", type: nil, celsius: -300)] }),
        ("33 temperatures", {
            $0.temperatures = (0..<33).map { TemperatureReading(zone: "z\($0)", type: nil, celsius: 40) }
        }),
        ("200-byte kernel", { $0.kernel = String(repeating: "x", count: 200) }),
        ("200-byte arch", { $0.arch = String(repeating: "x", count: 200) }),
        ("200-byte zone", {
            $0.temperatures = [TemperatureReading(zone: String(repeating: "z", count: 200), type: nil, celsius: 40)]
        }),
    ]

    @Test(arguments: 0..<implausible.count)
    func implausibleReadingFails(_ index: Int) {
        let (label, mutate) = Self.implausible[index]
        var request = Self.plausible()
        mutate(&request)
        let error = #expect(throws: CoordinatorError.self, "\(label)") { try HeartbeatValidation.validate(request) }
        #expect(error?.code == .invalidRequest, "\(label)")
    }
}
