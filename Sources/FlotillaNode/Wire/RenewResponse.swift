/// Body of a `200` answer to `POST /v1/renew`: the new certificate for the new key.
struct RenewResponse {
    var certificatePEM: String
    var certificateExpiresAt: String
    var caPEM: String

    /// Decodes the response; unknown keys are ignored.
    init(json: JSONValue) throws(NodeError) {
        certificatePEM = try json.requiredString("certificate_pem")
        certificateExpiresAt = try json.requiredString("certificate_expires_at")
        caPEM = try json.requiredString("ca_pem")
    }
}
