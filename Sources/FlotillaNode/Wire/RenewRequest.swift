/// Body of `POST /v1/renew`: a CSR for a new key generated on the node.
struct RenewRequest {
    var csrPEM: String

    /// Creates a request for the given CSR.
    init(csrPEM: String) {
        self.csrPEM = csrPEM
    }

    /// Decodes a request (used by tests against the shared fixture).
    init(json: JSONValue) throws(NodeError) {
        csrPEM = try json.requiredString("csr_pem")
    }

    /// The JSON body to send.
    func json() -> JSONValue {
        .object([JSONMember("csr_pem", .string(csrPEM))])
    }
}
