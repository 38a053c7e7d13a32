import ArgumentParser
import FlotillaFleet
import FlotillaProtocol
import Foundation

/// `flotilla plan DIR`: what publishing the fleet spec would change, without publishing.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what `apply` would change per group and node, without publishing."
    )

    @Argument(help: "The fleet spec directory (holds fleet.yaml and skills/).")
    var directory: String = "fleet"

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let fleet = try FleetLoading.load(directory)
        let result = try await AdminClient.with(try connection.resolve()) { client in
            try await client.post("/admin/v1/releases", body: fleet.publishRequest(dryRun: true), as: PublishResponse.self)
        }
        if json {
            print(try JSONOutput.string(result))
            return
        }
        PlanOutput.print(result.groups, gateway: result.gateway)
        let changed = result.groups.filter(\.changed).count
        let gatewayChanged = result.gateway?.changed == true
        if changed == 0 && !gatewayChanged {
            print("No changes.")
        } else {
            let parts = (changed > 0 ? ["\(changed) group(s) would get a new release"] : []) + (gatewayChanged ? ["the gateway configuration would change"] : [])
            print(parts.joined(separator: " and ").prefix(1).uppercased() + parts.joined(separator: " and ").dropFirst() + ". Run `flotilla apply \(directory)` to publish.")
        }
    }
}

/// `flotilla apply DIR [--yes] [--detach]`: sign and publish the fleet spec, then follow the rollout.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Publish the fleet spec as a signed release and roll it out.",
        discussion: "Shows the plan, asks for confirmation (unless --yes), publishes, and follows the rollout until it completes, pauses or is aborted (unless --detach)."
    )

    @Argument(help: "The fleet spec directory (holds fleet.yaml and skills/).")
    var directory: String = "fleet"

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(help: "Return once published instead of following the rollout.")
    var detach = false

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let fleet = try FleetLoading.load(directory)
        try await AdminClient.with(try connection.resolve()) { client in
            let plan = try await client.post("/admin/v1/releases", body: fleet.publishRequest(dryRun: true), as: PublishResponse.self)
            PlanOutput.print(plan.groups, gateway: plan.gateway)
            guard plan.groups.contains(where: \.changed) || plan.gateway?.changed == true else {
                print("No changes; nothing published.")
                return
            }
            if !yes {
                guard isatty(STDIN_FILENO) != 0 else { throw CLIError("not a terminal: pass --yes to publish without confirmation") }
                Swift.print("Publish these changes? [y/N] ", terminator: "")
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    print("Nothing published.")
                    return
                }
            }
            let result = try await client.post("/admin/v1/releases", body: fleet.publishRequest(dryRun: false), as: PublishResponse.self)
            if result.gateway?.changed == true { print("Gateway configuration updated.") }
            guard let version = result.releaseVersion else {
                if result.gateway?.changed != true { print("No changes; nothing published.") }
                return
            }
            print("Published release \(version).")
            if detach {
                print("Follow it with `flotilla rollout status \(version)`.")
                return
            }
            let final = try await RolloutFollower.follow(version: version, client: client)
            if final.state != .completed { throw ExitCode(1) }
        }
    }
}

/// Loads and validates a spec directory, printing every problem at once.
enum FleetLoading {
    static func load(_ directory: String) throws -> LoadedFleet {
        do {
            let fleet = try FleetSpecLoader(directory: directory).load()
            for warning in fleet.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            return fleet
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// Renders plans.
enum PlanOutput {
    static func print(_ groups: [GroupPlan], gateway: GatewayPlan? = nil) {
        printGroups(groups)
        if let gateway { print(gateway) }
    }

    static func print(_ gateway: GatewayPlan) {
        for line in lines(gateway) { Swift.print(line) }
    }

    /// The gateway part of a plan, one line per change and warning.
    static func lines(_ gateway: GatewayPlan) -> [String] {
        let prices = gateway.priceVersion.map { "prices v\($0)" } ?? "no prices"
        guard gateway.changed else {
            return ["gateway (\(prices)): no changes"] + gateway.warnings.map { "  ! \($0)" }
        }
        var lines = ["gateway:"] + changeLines([
            ("+", gateway.providersAdded, "provider"), ("~", gateway.providersChanged, "provider"), ("-", gateway.providersRemoved, "provider"),
            ("+", gateway.modelsAdded, "model"), ("~", gateway.modelsChanged, "model"), ("-", gateway.modelsRemoved, "model"),
            ("~", gateway.groupsChanged, "models of group"), ("~", gateway.budgetsChanged, "budget"),
            ("~", gateway.limitsChanged, "limits"),
        ])
        if gateway.currentPriceVersion != gateway.priceVersion {
            let from = gateway.currentPriceVersion.map { "v\($0)" } ?? "none"
            let to = gateway.priceVersion.map { "v\($0)" } ?? "none"
            lines.append("  ~ prices \(from) -> \(to)")
        }
        return lines + gateway.warnings.map { "  ! \($0)" }
    }

    static func printGroups(_ groups: [GroupPlan]) {
        for group in groups {
            let current = group.currentVersion.map { "release \($0)" } ?? "no release yet"
            guard group.changed else {
                Swift.print("group \(group.group) (\(current)): no changes")
                continue
            }
            Swift.print("group \(group.group) (\(current)) -> \(group.nodes.count) node(s)\(group.nodes.isEmpty ? "" : ": " + group.nodes.prefix(10).joined(separator: ", "))\(group.nodes.count > 10 ? ", ..." : "")")
            for line in changeLines([
                ("+", group.skillsAdded, "skill"), ("~", group.skillsChanged, "skill"), ("-", group.skillsRemoved, "skill"),
                ("+", group.configAdded, "config"), ("~", group.configChanged, "config"), ("-", group.configRemoved, "config"),
            ]) { Swift.print(line) }
        }
    }

    /// `  + skill greeter`: one line per name, marked added (+), changed (~) or removed (-).
    static func changeLines(_ changes: [(mark: String, names: [String], what: String)]) -> [String] {
        changes.flatMap { change in change.names.map { "  \(change.mark) \(change.what) \($0)" } }
    }
}
