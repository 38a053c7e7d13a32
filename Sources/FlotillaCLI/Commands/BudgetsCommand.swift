import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla budgets`: every budget scope's spend against its limit.
struct BudgetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budgets",
        abstract: "Show every budget (fleet, groups, nodes) with its spend, holds, limit and state this period."
    )

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let report = try await AdminClient.with(try connection.resolve()) { client in
            try await client.get("/admin/v1/budgets", as: BudgetsReport.self)
        }
        print(json ? try JSONOutput.string(report) : Self.table(report))
    }

    static func table(_ report: BudgetsReport) -> String {
        guard !report.scopes.isEmpty else { return "No budgets. Set them under budgets: in fleet.yaml and apply." }
        var table = TextTable(headers: ["SCOPE", "PERIOD", "SPENT", "RESERVED", "LIMIT", "USED", "STATE", "RESETS"])
        for scope in report.scopes {
            table.add([scope.scope, "\(scope.period) \(scope.periodKey)", Format.usd(scope.spentUSD), Format.usd(scope.reservedUSD),
                       Format.usd(scope.limitUSD), Format.number(scope.percent) + "%", scope.state.rawValue, scope.resetsAt])
        }
        var text = "Budgets in \(report.timeZone) (soft threshold \(Format.number(report.softThresholdPercent, decimals: 0))%)\n" + table.render()
        if !report.unsettled.isEmpty {
            var unsettled = TextTable(headers: ["UNSETTLED REQUEST", "AT", "NODE", "GROUP", "CHARGED"])
            for item in report.unsettled { unsettled.add([item.requestID, item.at, item.node, item.group, Format.usd(item.chargedUSD)]) }
            text += "\n\nCalls in flight when the coordinator stopped, charged at their reserved amount:\n" + unsettled.render()
        }
        return text
    }
}

/// `flotilla events`: budget and rate-limit events.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show budget thresholds crossed, budgets exhausted and rate limits hit."
    )

    @Option(help: "How far back, e.g. 1h, 24h, 7d.")
    var since: String = "24h"

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let seconds = DurationParser.seconds(since), seconds > 0 else { throw ValidationError("--since must be a duration such as 1h or 7d") }
        let events = try await AdminClient.with(try connection.resolve()) { client in
            try await client.get("/admin/v1/events?since_seconds=\(Int(seconds.rounded(.up)))", as: [EventView].self)
        }
        if json {
            print(try JSONOutput.string(events))
            return
        }
        guard !events.isEmpty else {
            print("No events in the last \(since).")
            return
        }
        var table = TextTable(headers: ["AT", "KIND", "SCOPE", "MESSAGE"])
        for event in events { table.add([event.at, event.kind.rawValue, event.scope, event.message]) }
        print(table.render())
    }
}
