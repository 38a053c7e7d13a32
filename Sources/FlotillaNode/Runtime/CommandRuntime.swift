import CFlotillaSystem

/// A runtime driven by shell commands: `--reload-command` after an apply, then
/// `--health-command` (exit 0 = healthy). `runtime_config` is written whole to
/// `<workspace>/flotilla-config.json`, a file Flotilla owns.
final class CommandRuntime: RuntimeAdapter {
    var workspace: String
    var reloadCommand: String?
    var healthCommand: String?
    /// Longest a reload or health command may run before it is killed and counted as failed.
    var timeoutMilliseconds: Int = 60_000

    /// A runtime whose workspace is `workspace`.
    init(workspace: String, reloadCommand: String? = nil, healthCommand: String? = nil) {
        self.workspace = workspace
        self.reloadCommand = reloadCommand
        self.healthCommand = healthCommand
    }

    var configPath: String { Text.path(workspace, "flotilla-config.json") }
    var mergesConfig: Bool { false }

    func reloadAndCheck() -> HealthCheck {
        if let reloadCommand {
            let status = flotilla_run_shell(reloadCommand, timeoutMilliseconds)
            guard status == 0 else { return .failed(Text.join("reload command ", CommandRuntime.describe(status))) }
        }
        guard let healthCommand else { return .skipped("no --health-command") }
        let status = flotilla_run_shell(healthCommand, timeoutMilliseconds)
        return status == 0 ? .passed : .failed(Text.join("health command ", CommandRuntime.describe(status)))
    }

    static func describe(_ status: Int32) -> String {
        switch status {
        case -1: return "could not be started"
        case -2: return "timed out"
        default: return Text.join("exited with status ", Text.number(Int64(status)))
        }
    }
}
