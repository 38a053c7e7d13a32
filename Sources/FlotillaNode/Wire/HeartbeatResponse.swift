/// Body of a `200` answer to `POST /v1/heartbeat`.
public struct HeartbeatResponse {
    /// Node status as the coordinator sees it (for example `active`).
    public var status: String
    /// Seconds until the next heartbeat should be sent.
    public var heartbeatIntervalSeconds: Int64
    /// True once the certificate is in the last third of its lifetime.
    public var renewCertificate: Bool
    public var serverTime: String

    /// Decodes the response; unknown keys are ignored.
    public init(json: JSONValue) throws(NodeError) {
        status = try json.requiredString("status")
        heartbeatIntervalSeconds = try json.requiredInt("heartbeat_interval_seconds")
        renewCertificate = try json.requiredBool("renew_certificate")
        serverTime = try json.requiredString("server_time")
    }
}
