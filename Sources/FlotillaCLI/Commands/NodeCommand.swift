import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla node show|approve|revoke NAME`.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Inspect, approve or revoke one node.",
        subcommands: [Show.self, Approve.self, Revoke.self, RotateKey.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one node in detail.")

        @Argument var name: String
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminClient.with(try connection.resolve()) { client in
                let node = try await client.get("/admin/v1/nodes/\(try PathSegment.encode(name))", as: NodeView.self)
                if json { return print(try JSONOutput.string(node)) }
                let from = Timestamps.rfc3339(UTCCalendar.startOfMonth(Date()))
                let spend = try await client.get(
                    "/admin/v1/usage?by=model&node=\(try PathSegment.encode(name))&from=\(try PathSegment.encode(from))", as: UsageReport.self
                )
                print(Self.describe(node) + "\n\n" + Self.spend(spend))
            }
        }

        /// The node's gateway spend this month by model.
        static func spend(_ report: UsageReport) -> String {
            guard !report.rows.isEmpty else { return "Gateway spend this month (UTC): none" }
            var table = TextTable(headers: ["MODEL", "CALLS", "INPUT", "OUTPUT", "COST USD"])
            for row in report.rows + [report.total] {
                table.add([row.key, String(row.calls), String(row.inputTokens), String(row.outputTokens), Format.usd(row.costUSD)])
            }
            return "Gateway spend this month (UTC) by model\n" + table.render()
        }

        static func describe(_ n: NodeView, now: Date = Date()) -> String {
            var lines: [(String, String)] = [
                ("Name", n.name), ("ID", n.id), ("Group", n.group), ("Status", n.status.rawValue),
                ("Last seen", n.lastSeen.map { "\($0) (\(Format.relative(Timestamps.parse($0), now: now)))" } ?? "never"),
                ("Enrolled", n.enrolledAt), ("Certificate expires", n.certificateExpiresAt ?? "-"), ("Release", NodesCommand.release(n)),
            ]
            if let localModel = n.localModel { lines.append(("Local model", localModel)) }
            lines += [
                ("Gateway key", n.gatewayKeyID.map { "id \($0)" } ?? "none (the node fetches one with its next heartbeat)"),
                ("Cost today", Format.usd(n.costTodayUSD)), ("Cost this month", Format.usd(n.costMonthUSD)),
                ("Agent version", n.agentVersion ?? "-"), ("Arch", n.arch ?? "-"), ("Kernel", n.kernel ?? "-"),
                ("Uptime", n.uptimeSeconds.map { Format.relative(now.addingTimeInterval(-$0), now: now).replacingOccurrences(of: " ago", with: "") } ?? "-"),
                ("Load", [n.load1m, n.load5m, n.load15m].map { Format.number($0, decimals: 2) }.joined(separator: " ")),
                ("CPU", n.cpuPercent.map { Format.number($0) + "%" } ?? "-"),
                ("Memory", "\(Format.memory(total: n.memTotalBytes, available: n.memAvailableBytes)) (\(Format.bytes(n.memAvailableBytes)) available)"),
                ("Disk", "\(Format.bytes(n.diskFreeBytes)) free of \(Format.bytes(n.diskTotalBytes))"),
            ]
            if n.temperatures.isEmpty {
                lines.append(("Temperature", "-"))
            }
            for t in n.temperatures {
                lines.append(("Temperature", "\(Format.number(t.celsius))°C \(t.zone)\(t.type.map { " (\($0))" } ?? "")"))
            }
            let width = lines.map(\.0.count).max() ?? 0
            return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a pending node so its heartbeats are accepted.")

        @Argument var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let node = try await AdminClient.with(try connection.resolve()) { client in
                try await client.post("/admin/v1/nodes/\(try PathSegment.encode(name))/approve", body: EmptyResponse?.none, as: NodeView.self)
            }
            print("Node \(node.name) approved (status \(node.status.rawValue)).")
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Rotate a node's gateway key: the old key stops working now; the node fetches a new one with its next heartbeat."
        )

        @Argument var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let node = try await AdminClient.with(try connection.resolve()) { client in
                try await client.post("/admin/v1/nodes/\(try PathSegment.encode(name))/rotate-key", body: EmptyResponse?.none, as: NodeView.self)
            }
            print("Gateway key of \(node.name) rotated: the old key no longer works; the node fetches its new key with its next heartbeat.")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a node: its certificate is refused from its next request on.")

        @Argument var name: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let node = try await AdminClient.with(try connection.resolve()) { client in
                try await client.post("/admin/v1/nodes/\(try PathSegment.encode(name))/revoke", body: EmptyResponse?.none, as: NodeView.self)
            }
            print("Node \(node.name) revoked.")
        }
    }
}
