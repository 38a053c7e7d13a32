import ArgumentParser

/// The `flotilla` command: the coordinator (`serve`) and the admin CLI that talks to it.
public struct FlotillaCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "flotilla",
        abstract: "Fleet coordinator for edge AI agents.",
        version: FlotillaVersion.current,
        subcommands: [
            ServeCommand.self, ProvisionCommand.self, TokenCommand.self, NodesCommand.self, NodeCommand.self,
            PlanCommand.self, ApplyCommand.self, RolloutCommand.self, KeysCommand.self, SecretCommand.self, UsageCommand.self,
            BudgetsCommand.self, EventsCommand.self, AdminTokenCommand.self, AuditCommand.self,
            MigrateCommand.self, BenchCommand.self,
        ]
    )

    public init() {}

    /// Parses the process arguments, runs the chosen command and exits with its status.
    public static func start() async {
        await main()
    }
}

/// Version of the `flotilla` binary.
public enum FlotillaVersion {
    public static let current = "0.1.0"
}
