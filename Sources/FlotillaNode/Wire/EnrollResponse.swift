/// Body of a `201` answer to `POST /v1/enroll`: the node's identity and its signed certificate.
public struct EnrollResponse {
    public var nodeID: String
    public var name: String
    public var group: String
    /// `active` or `pending` (awaiting `flotilla node approve`).
    public var status: String
    public var certificatePEM: String
    public var caPEM: String
    public var certificateExpiresAt: String
    public var heartbeatIntervalSeconds: Int64

    /// Decodes the response; unknown keys are ignored.
    public init(json: JSONValue) throws(NodeError) {
        nodeID = try json.requiredString("node_id")
        name = try json.requiredString("name")
        group = try json.requiredString("group")
        status = try json.requiredString("status")
        certificatePEM = try json.requiredString("certificate_pem")
        caPEM = try json.requiredString("ca_pem")
        certificateExpiresAt = try json.requiredString("certificate_expires_at")
        heartbeatIntervalSeconds = try json.requiredInt("heartbeat_interval_seconds")
    }
}
