/// The runtime chosen with `--runtime`, as one concrete type so the agent needs neither
/// generics nor existentials to hold it.
enum Runtime: RuntimeAdapter {
    case picoclaw(PicoClawRuntime)
    case command(CommandRuntime)

    var workspace: String {
        switch self {
        case .picoclaw(let runtime): return runtime.workspace
        case .command(let runtime): return runtime.workspace
        }
    }

    var configPath: String {
        switch self {
        case .picoclaw(let runtime): return runtime.configPath
        case .command(let runtime): return runtime.configPath
        }
    }

    var mergesConfig: Bool {
        switch self {
        case .picoclaw(let runtime): return runtime.mergesConfig
        case .command(let runtime): return runtime.mergesConfig
        }
    }

    @inline(never)
    func reloadAndCheck() -> HealthCheck {
        switch self {
        case .picoclaw(let runtime): return runtime.reloadAndCheck()
        case .command(let runtime): return runtime.reloadAndCheck()
        }
    }

    var reloadsForSkills: Bool {
        if case .picoclaw(let runtime) = self { return runtime.reloadsForSkills }
        return true
    }

    func refusal(merged: JSONValue, existing: JSONValue) -> String? {
        if case .picoclaw(let runtime) = self { return runtime.refusal(merged: merged, existing: existing) }
        return nil
    }

    func installGatewayFiles(_ manifest: ReleaseManifest) throws(NodeError) -> Bool {
        if case .picoclaw(let runtime) = self { return try runtime.installGatewayFiles(manifest) }
        return false
    }

    /// Name for logs: `picoclaw` or `command`.
    var name: String {
        switch self {
        case .picoclaw: return "picoclaw"
        case .command: return "command"
        }
    }
}
