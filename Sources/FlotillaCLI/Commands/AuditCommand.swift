import ArgumentParser
import FlotillaProtocol
import Foundation

/// `flotilla audit`: the admin actions taken on this fleet, and a check of their hash chain.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List admin actions (who, from where, what), or verify the log's hash chain.",
        subcommands: [List.self, Verify.self],
        defaultSubcommand: List.self
    )

    /// `flotilla audit [list] [--since D] [--json]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List audit entries, oldest first.")

        @Option(help: "How far back, e.g. 1h, 24h, 7d (default: everything, newest 10,000).")
        var since: String?

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            var path = "/admin/v1/audit"
            if let since {
                guard let seconds = DurationParser.seconds(since), seconds > 0 else { throw ValidationError("--since must be a duration such as 1h or 7d") }
                path += "?since_seconds=\(Int(seconds.rounded(.up)))"
            }
            let entries = try await AdminClient.with(try connection.resolve()) { client in
                try await client.get(path, as: [AuditEntryView].self)
            }
            if json {
                print(try JSONOutput.string(entries))
                return
            }
            guard !entries.isEmpty else {
                print(since.map { "No admin actions in the last \($0)." } ?? "No admin actions recorded.")
                return
            }
            print(Self.table(entries))
        }

        static func table(_ entries: [AuditEntryView]) -> String {
            var table = TextTable(headers: ["#", "AT", "ACTOR", "SOURCE", "ACTION", "TARGET", "DETAILS"])
            for entry in entries {
                let details = entry.details.keys.sorted().map { "\($0)=\(entry.details[$0] ?? "")" }.joined(separator: " ")
                table.add(["\(entry.sequence)", entry.at, entry.actor, entry.source, entry.action, entry.target, details])
            }
            return table.render()
        }
    }

    /// `flotilla audit verify`: exits 1 naming every entry that was edited, removed or reordered.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check the hash chain; name any edited, removed or reordered entry (exit 1)."
        )

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let report = try await AdminClient.with(try connection.resolve()) { client in
                try await client.get("/admin/v1/audit/verify", as: AuditVerifyReport.self)
            }
            if json {
                print(try JSONOutput.string(report))
            } else if report.intact {
                print("Audit log intact: \(report.entries) entries, every hash and link checks out.")
            } else {
                print("Audit log TAMPERED (\(report.entries) entries):")
                for problem in report.problems { print("  - " + problem) }
            }
            if !report.intact { throw ExitCode(1) }
        }
    }
}
