/// The seam between releases and the agent runtime they configure: where skills and config go,
/// and how to reload it and tell whether it is healthy. Used through generics (`ReleaseApplier`)
/// or the `Runtime` enum, never as an existential (Embedded Swift has none).
protocol RuntimeAdapter {
    /// The runtime's workspace; skills go to `<workspace>/skills/<name>/`.
    var workspace: String { get }
    /// The file `runtime_config` is written to.
    var configPath: String { get }
    /// True: deep-merge into the existing file (PicoClaw's config.json, shared with the user);
    /// false: the file belongs to Flotilla and is replaced whole.
    var mergesConfig: Bool { get }
    /// Makes the runtime pick up the new skills and config, then checks its health.
    func reloadAndCheck() -> HealthCheck
    /// Whether a release that changes only skills needs `reloadAndCheck`.
    var reloadsForSkills: Bool { get }
    /// Why the runtime would refuse `merged` (nil: it would load it), checked before any change.
    func refusal(merged: JSONValue, existing: JSONValue) -> String?
    /// Writes the files the config references outside it (PicoClaw: the gateway key and fleet
    /// CA); true when one changed, so the runtime must reload even if the config did not.
    func installGatewayFiles(_ manifest: ReleaseManifest) throws(NodeError) -> Bool
}

extension RuntimeAdapter {
    var reloadsForSkills: Bool { true }
    func refusal(merged: JSONValue, existing: JSONValue) -> String? { nil }
    func installGatewayFiles(_ manifest: ReleaseManifest) throws(NodeError) -> Bool { false }
}

/// Outcome of a reload and health check.
enum HealthCheck {
    /// The runtime answered healthy after the reload.
    case passed
    /// Nothing to check (runtime not running, or no health check configured); the reason says which.
    case skipped(String)
    /// Reload failed or the runtime is not healthy; the release must be rolled back.
    case failed(String)

    /// The report's `health` value.
    var wire: String {
        switch self {
        case .passed: return "passed"
        case .skipped: return "skipped"
        case .failed: return "failed"
        }
    }

    /// Human-readable detail for logs and reports.
    var detail: String {
        switch self {
        case .passed: return "health check passed"
        case .skipped(let reason), .failed(let reason): return reason
        }
    }
}
