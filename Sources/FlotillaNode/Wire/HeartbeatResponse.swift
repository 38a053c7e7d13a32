/// Body of a `200` answer to `POST /v1/heartbeat`.
struct HeartbeatResponse {
    /// Node status as the coordinator sees it (for example `active`).
    var status: String
    /// Seconds until the next heartbeat should be sent.
    var heartbeatIntervalSeconds: Int64
    /// True once the certificate is in the last third of its lifetime.
    var renewCertificate: Bool
    var serverTime: String
    /// Whether the coordinator runs the LLM gateway (it then always sends `gateway_key_id`).
    var hasGateway: Bool
    /// Id of the gateway key the coordinator expects this node to hold; nil: none issued yet.
    var gatewayKeyID: String?

    /// Decodes the response; unknown keys are ignored.
    init(json: JSONValue) throws(NodeError) {
        status = try json.requiredString("status")
        heartbeatIntervalSeconds = try json.requiredInt("heartbeat_interval_seconds")
        renewCertificate = try json.requiredBool("renew_certificate")
        serverTime = try json.requiredString("server_time")
        let keyID = json["gateway_key_id"]
        hasGateway = keyID != nil
        gatewayKeyID = keyID?.stringValue
    }
}
