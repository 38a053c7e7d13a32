/// Body of a `201` answer to `POST /v1/enroll`: the node's identity and its signed certificate.
final class EnrollResponse {
    var nodeID: String
    var name: String
    var group: String
    /// `active` or `pending` (awaiting `flotilla node approve`).
    var status: String
    var certificatePEM: String
    var caPEM: String
    var certificateExpiresAt: String
    var heartbeatIntervalSeconds: Int64
    /// The node's LLM gateway key, when the coordinator runs the gateway.
    var gatewayKey: String?

    /// Decodes the response; unknown keys are ignored.
    init(json: JSONValue) throws(NodeError) {
        nodeID = try json.requiredString("node_id")
        name = try json.requiredString("name")
        group = try json.requiredString("group")
        status = try json.requiredString("status")
        certificatePEM = try json.requiredString("certificate_pem")
        caPEM = try json.requiredString("ca_pem")
        certificateExpiresAt = try json.requiredString("certificate_expires_at")
        heartbeatIntervalSeconds = try json.requiredInt("heartbeat_interval_seconds")
        gatewayKey = json["gateway_key"]?.stringValue
    }
}
