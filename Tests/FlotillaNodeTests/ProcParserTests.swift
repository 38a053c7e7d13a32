import Foundation
import Testing
@testable import FlotillaNode

@Suite("/proc parsers")
struct ProcParserTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func uptime() {
        #expect(ProcParser.uptime(bytes("350735.47 234388.90\n")) == 350735.47)
        #expect(ProcParser.uptime(bytes("12 7\n")) == 12)
        #expect(ProcParser.uptime(bytes("")) == nil)
        #expect(ProcParser.uptime(bytes("garbage 1.0\n")) == nil)
        #expect(ProcParser.uptime(bytes("-5.0 1.0")) == nil)
    }

    @Test func loadAverage() throws {
        let load = try #require(ProcParser.loadAverage(bytes("0.25 0.50 1.75 2/345 6789\n")))
        #expect(load.one == 0.25)
        #expect(load.five == 0.5)
        #expect(load.fifteen == 1.75)
        #expect(ProcParser.loadAverage(bytes("0.25 0.50\n")) == nil)
        #expect(ProcParser.loadAverage(bytes("0.25 x 1.0 1/2 3")) == nil)
    }

    @Test func cpuSampleAndPercent() throws {
        let first = try #require(ProcParser.cpuSample(bytes("""
            cpu  100 0 100 700 100 0 0 0 50 0
            cpu0 50 0 50 350 50 0 0 0 25 0
            intr 12345
            """)))
        #expect(first.total == 1000)
        #expect(first.idle == 800)
        let second = try #require(ProcParser.cpuSample(bytes("cpu  150 0 150 1450 150 0 0 0 0 0\n")))
        #expect(second.total == 1900)
        #expect(second.idle == 1600)
        let percent = try #require(ProcParser.cpuPercent(from: first, to: second))
        #expect(abs(percent - 100.0 / 9.0) < 1e-9)
        #expect(ProcParser.cpuPercent(from: second, to: first) == nil)
        #expect(ProcParser.cpuPercent(from: first, to: first) == nil)
    }

    @Test func cpuSampleOddInput() throws {
        let old = try #require(ProcParser.cpuSample(bytes("cpu 1 2 3 4\n")))
        #expect(old.total == 10)
        #expect(old.idle == 4)
        #expect(ProcParser.cpuSample(bytes("cpu0 1 2 3 4\n")) == nil)
        #expect(ProcParser.cpuSample(bytes("cpu 1 2\n")) == nil)
        #expect(ProcParser.cpuSample(bytes("cpu 1 2 x 4\n")) == nil)
        #expect(ProcParser.cpuSample(bytes("")) == nil)
    }

    @Test func meminfo() throws {
        let memory = try #require(ProcParser.memory(bytes("""
            MemTotal:       16314480 kB
            MemFree:          621640 kB
            MemAvailable:    9093780 kB
            Buffers:          339328 kB
            """)))
        #expect(memory.totalBytes == 16_314_480 * 1024)
        #expect(memory.availableBytes == Int64(9_093_780) * 1024)

        let oldKernel = try #require(ProcParser.memory(bytes("MemTotal: 262144 kB\nMemFree: 1000 kB\n")))
        #expect(oldKernel.totalBytes == 262_144 * 1024)
        #expect(oldKernel.availableBytes == nil)

        #expect(ProcParser.memory(bytes("MemFree: 1 kB\n")) == nil)
        #expect(ProcParser.memory(bytes("MemTotal: lots kB\n")) == nil)
        #expect(ProcParser.memory(bytes("MemTotal: 99999999999999999 kB\n")) == nil)
    }

    @Test func thermalMillidegrees() {
        #expect(ProcParser.millidegrees(bytes("48312\n")) == 48.312)
        #expect(ProcParser.millidegrees(bytes("-3500\n")) == -3.5)
        #expect(ProcParser.millidegrees(bytes("n/a\n")) == nil)
        #expect(ProcParser.millidegrees(bytes("")) == nil)
    }

    @Test func thermalZonesFromDirectory() throws {
        let root = try TestSupport.temporaryDirectory()
        for (zone, type, temp) in [("thermal_zone10", "gpu", "-3500"), ("thermal_zone2", "cpu-thermal", "48312"),
                                    ("thermal_zone3", "broken", "n/a"), ("cooling_device0", "fan", "1")] {
            try TestSupport.run(["mkdir", "-p", root + "/" + zone])
            try type.write(toFile: root + "/\(zone)/type", atomically: false, encoding: .utf8)
            try temp.write(toFile: root + "/\(zone)/temp", atomically: false, encoding: .utf8)
        }
        let zones = SystemReadings.thermalZones(root: root)
        #expect(zones.map(\.zone) == ["thermal_zone2", "thermal_zone10"])
        #expect(zones.map(\.type) == ["cpu-thermal", "gpu"])
        #expect(zones.map(\.celsius) == [48.312, -3.5])
        #expect(SystemReadings.thermalZones(root: root + "/missing").isEmpty)
    }

    @Test func liveReadingsOnThisMachine() throws {
        var cpu: CPUSample?
        let readings = SystemReadings.collect(diskPath: "/tmp", cpu: &cpu)
        #expect(readings.arch == "x86_64" || readings.arch == "aarch64" || readings.arch == "riscv64")
        #expect(readings.kernel?.isEmpty == false)
        #expect((readings.uptimeSeconds ?? 0) > 0)
        #expect(readings.load != nil)
        let percent = try #require(readings.cpuPercent)
        #expect(percent >= 0 && percent <= 100)
        #expect((readings.memory?.totalBytes ?? 0) > 0)
        let disk = try #require(readings.disk)
        #expect(disk.totalBytes > 0 && disk.freeBytes <= disk.totalBytes)
        #expect(cpu != nil)
    }
}
