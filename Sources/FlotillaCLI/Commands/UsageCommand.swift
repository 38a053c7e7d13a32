import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla usage`: gateway calls, tokens and cost, grouped.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show gateway calls, tokens and cost by node, group, model or provider."
    )

    @Option(help: "Group by node, group, model or provider.")
    var by: UsageGrouping = .node

    @Option(help: "How far back, e.g. 1h, 24h, 30d.")
    var since: String = "24h"

    @Option(help: "Only calls of this node.")
    var node: String?

    @Option(help: "Only calls of this group.")
    var group: String?

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let seconds = DurationParser.seconds(since), seconds > 0 else {
            throw ValidationError("--since must be a duration such as 1h, 24h or 30d")
        }
        var path = "/admin/v1/usage?by=\(by.rawValue)&since_seconds=\(Int(seconds.rounded(.up)))"
        if let node { path += "&node=\(try PathSegment.encode(node))" }
        if let group { path += "&group=\(try PathSegment.encode(group))" }
        let report = try await AdminClient.with(try connection.resolve()) { client in
            try await client.get(path, as: UsageReport.self)
        }
        print(json ? try JSONOutput.string(report) : Self.table(report))
    }

    static func table(_ report: UsageReport) -> String {
        var table = TextTable(headers: [report.by.rawValue.uppercased(), "CALLS", "REFUSED", "FAILED", "FALLBACKS", "INPUT", "OUTPUT", "CACHED", "COST USD"])
        for row in report.rows + [report.total] {
            table.add([row.key, String(row.calls), String(row.refused), String(row.failed), String(row.fallbacks), String(row.inputTokens),
                       String(row.outputTokens), String(row.cachedTokens), Format.usd(row.costUSD)])
        }
        return "Gateway usage from \(report.from) to \(report.to)\n" + table.render()
    }
}

extension UsageGrouping: ExpressibleByArgument {}
