import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla nodes`: the fleet view.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nodes", abstract: "Show every node's health.")

    @Option(help: "Only nodes of this group.")
    var group: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        var path = "/admin/v1/nodes"
        if let group { path += "?group=\(try PathSegment.encode(group))" }
        let nodes = try await AdminClient.with(try connection.resolve()) { client in
            try await client.get(path, as: [NodeView].self)
        }
        print(json ? try JSONOutput.string(nodes) : Self.table(nodes))
    }

    static func table(_ nodes: [NodeView], now: Date = Date()) -> String {
        var table = TextTable(headers: ["NAME", "GROUP", "STATUS", "LAST SEEN", "ARCH", "VERSION", "CPU%", "MEM", "DISK FREE", "TEMP", "RELEASE", "LOCAL", "COST TODAY", "COST MONTH", "BUDGET %"])
        for n in nodes {
            table.add([
                n.name, n.group, n.status.rawValue, Format.relative(n.lastSeen.flatMap(Timestamps.parse), now: now),
                n.arch ?? "-", n.agentVersion ?? "-", Format.number(n.cpuPercent),
                Format.memory(total: n.memTotalBytes, available: n.memAvailableBytes), Format.bytes(n.diskFreeBytes),
                n.temperatureC.map { Format.number($0) + "°C" } ?? "-", release(n), n.localModel ?? "-", Format.usd(n.costTodayUSD), Format.usd(n.costMonthUSD),
                n.budgetUsedPercent.map { Format.number($0) + "%" } ?? "-",
            ])
        }
        return table.render()
    }

    /// `7 applied`, `8 rolled_back (health_check_failed)`, or `-`.
    static func release(_ node: NodeView) -> String {
        guard let status = node.releaseStatus else { return "-" }
        let version = node.releaseVersion.map { "\($0) " } ?? ""
        return version + status + (node.releaseError.map { " (\($0))" } ?? "")
    }
}
