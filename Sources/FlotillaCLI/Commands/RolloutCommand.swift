import ArgumentParser
import FlotillaProtocol
import Foundation

/// `flotilla rollout list|status|pause|resume|abort|rollback`.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Follow and steer rollouts of published releases.",
        subcommands: [List.self, Status.self, Pause.self, Resume.self, Abort.self, Rollback.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent rollouts.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let views = try await AdminClient.with(try connection.resolve()) { try await $0.get("/admin/v1/rollouts", as: [RolloutView].self) }
            if json { return print(try JSONOutput.string(views)) }
            var table = TextTable(headers: ["RELEASE", "STATE", "GROUPS", "WAVES", "APPLIED", "FAILED", "PENDING", "CREATED"])
            for v in views {
                let failed = (v.counts["failed"] ?? 0) + (v.counts["rolled_back"] ?? 0)
                let pending = (v.counts["pending"] ?? 0) + (v.counts["downloading"] ?? 0) + (v.counts["waiting"] ?? 0)
                table.add(["\(v.version)", v.state.rawValue, v.groups.joined(separator: ","), "\(v.wavesStarted)/\(v.waves)",
                           "\(v.counts["applied"] ?? 0)/\(v.total)", "\(failed)", "\(pending)", v.createdAt])
            }
            print(table.render())
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a rollout and every node's part in it.")
        @Argument(help: "Release version.") var version: Int64
        @Flag(help: "Keep following until it completes, pauses or is aborted.") var follow = false
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminClient.with(try connection.resolve()) { client in
                if follow {
                    _ = try await RolloutFollower.follow(version: version, client: client)
                    return
                }
                let view = try await client.get("/admin/v1/rollouts/\(version)", as: RolloutView.self)
                if json { return print(try JSONOutput.string(view)) }
                print(RolloutOutput.progress(view))
                if let reason = view.reason { print("reason: \(reason)") }
                var table = TextTable(headers: ["NODE", "GROUP", "WAVE", "STATUS", "ERROR", "ONLINE", "MESSAGE"])
                for n in view.nodes ?? [] {
                    table.add([n.name, n.group, "\(n.wave + 1)", n.status, n.errorCode ?? "-", n.online ? "yes" : "no", n.message ?? ""])
                }
                print(table.render())
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a rollout: no further waves start.")
        @Argument(help: "Release version.") var version: Int64
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await RolloutCommand.transition(version, "pause", connection) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused rollout; the failure threshold counts new failures.")
        @Argument(help: "Release version.") var version: Int64
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await RolloutCommand.transition(version, "resume", connection) }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Abort a rollout: nodes not yet reached keep their release.")
        @Argument(help: "Release version.") var version: Int64
        @OptionGroup var connection: ConnectionOptions
        func run() async throws { try await RolloutCommand.transition(version, "abort", connection) }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish each group's previous content as a new, higher release version and roll it out."
        )
        @Option(help: "Only this group.") var group: String?
        @Flag(help: "Return once published instead of following the rollout.") var detach = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminClient.with(try connection.resolve()) { client in
                let result = try await client.post("/admin/v1/rollouts/rollback", body: RollbackRequest(group: group), as: PublishResponse.self)
                PlanOutput.print(result.groups)
                guard let version = result.releaseVersion else { return print("Nothing to roll back.") }
                print("Published release \(version) with the previous content.")
                if !detach { _ = try await RolloutFollower.follow(version: version, client: client) }
            }
        }
    }

    static func transition(_ version: Int64, _ verb: String, _ connection: ConnectionOptions) async throws {
        let view = try await AdminClient.with(try connection.resolve()) { client in
            try await client.post("/admin/v1/rollouts/\(version)/\(verb)", body: Optional<RollbackRequest>.none, as: RolloutView.self)
        }
        print(RolloutOutput.progress(view))
    }
}
