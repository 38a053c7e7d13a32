/// Fixed values of this agent build that appear on the wire.
enum AgentInfo {
    /// Reported as `agent_version` in enroll and heartbeat requests.
    static let version = "0.1.0"
}
