import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCLI

@Suite struct NodesCommandTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z

    static func view(name: String, status: NodeStatus = .online, lastSeen: String? = "2027-01-15T07:59:56Z", localModel: String? = "up") -> NodeView {
        NodeView(
            id: UUID().uuidString.lowercased(), name: name, group: "edge", status: status, enrolledAt: "2027-01-01T00:00:00Z",
            lastSeen: lastSeen, arch: "aarch64", agentVersion: "0.1.0", kernel: "6.6.31", uptimeSeconds: 100,
            load1m: 0.25, load5m: 0.5, load15m: 1.75, cpuPercent: 12.5, memTotalBytes: 268_435_456,
            memAvailableBytes: 134_217_728, diskTotalBytes: 31_914_983_424, diskFreeBytes: 20_401_094_656,
            temperatureC: 48.312, temperatures: [TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.312)],
            certificateExpiresAt: "2027-02-14T08:00:00Z", costTodayUSD: 0.0421, costMonthUSD: 12.5, budgetUsedPercent: 62.5,
            localModel: localModel
        )
    }

    static func columns(_ line: Substring) -> [String] {
        line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test func tableHasHeaderAndOneRowPerNode() throws {
        let output = NodesCommand.table([Self.view(name: "board-01")], now: Self.now)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(Self.columns(lines[0]) == ["NAME", "GROUP", "STATUS", "LAST SEEN", "ARCH", "VERSION", "CPU%", "MEM", "DISK FREE", "TEMP", "RELEASE", "LOCAL", "COST TODAY", "COST MONTH", "BUDGET %"])
        #expect(Self.columns(lines[1]) == ["board-01", "edge", "online", "4s ago", "aarch64", "0.1.0", "12.5", "50% of 256M", "19G", "48.3°C", "-", "up", "$0.0421", "$12.50", "62.5%"])
        // Columns line up: each header starts where its cell starts.
        let header = String(lines[0])
        let row = String(lines[1])
        for (title, cell) in [("STATUS", "online"), ("CPU%", "12.5"), ("TEMP", "48.3°C"), ("LOCAL", "up"), ("COST MONTH", "$12.50")] {
            let h = header.distance(from: header.startIndex, to: try #require(header.range(of: title)).lowerBound)
            let c = row.distance(from: row.startIndex, to: try #require(row.range(of: cell)).lowerBound)
            #expect(h == c, "\(title)")
        }
    }

    @Test func missingReadingsShowAsDashes() {
        let silent = NodeView(
            id: "n1", name: "silent", group: "edge", status: .offline, enrolledAt: "2027-01-01T00:00:00Z", lastSeen: nil,
            arch: nil, agentVersion: nil, kernel: nil, uptimeSeconds: nil, load1m: nil, load5m: nil, load15m: nil,
            cpuPercent: nil, memTotalBytes: nil, memAvailableBytes: nil, diskTotalBytes: nil, diskFreeBytes: nil,
            temperatureC: nil, temperatures: [], certificateExpiresAt: nil
        )
        let lines = NodesCommand.table([Self.view(name: "board-01"), silent], now: Self.now).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(Self.columns(lines[2]) == ["silent", "edge", "offline", "never", "-", "-", "-", "-", "-", "-", "-", "-", "$0", "$0", "-"])
    }

    @Test func localColumnShowsUpDownOrADashAndStaysAligned() throws {
        let nodes = [Self.view(name: "board-01"), Self.view(name: "board-02", localModel: "down"), Self.view(name: "board-03", localModel: nil)]
        let lines = NodesCommand.table(nodes, now: Self.now).split(separator: "\n").map(String.init)
        let header = try #require(lines.first)
        let start = header.distance(from: header.startIndex, to: try #require(header.range(of: "LOCAL")).lowerBound)
        let after = header.distance(from: header.startIndex, to: try #require(header.range(of: "COST TODAY")).lowerBound)
        for (line, shown) in zip(lines.dropFirst(), ["up", "down", "-"]) {
            let cell = String(line.dropFirst(start).prefix(after - start)).trimmingCharacters(in: .whitespaces)
            #expect(cell == shown, "\(line)")
        }
    }

    @Test func nodeShowNamesTheLocalModelOnlyWhenReported() {
        let shown = NodeCommand.Show.describe(Self.view(name: "board-01", localModel: "down"), now: Self.now)
        let lines = shown.split(separator: "\n").map(String.init)
        let release = lines.firstIndex { $0.hasPrefix("Release ") }
        #expect(lines.firstIndex { $0.hasPrefix("Local model ") } == release.map { $0 + 1 })
        #expect(lines.contains { Self.columns(Substring($0)) == ["Local model", "down"] })
        let none = NodeCommand.Show.describe(Self.view(name: "board-01", localModel: nil), now: Self.now)
        #expect(!none.contains("Local model"))
    }

    @Test func emptyFleetIsJustTheHeader() {
        let output = NodesCommand.table([], now: Self.now)
        #expect(!output.contains("\n"))
        #expect(output.hasPrefix("NAME  GROUP  STATUS  LAST SEEN"))
    }
}
