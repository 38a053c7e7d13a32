/// Body of `POST /v1/enroll`: the one-time token, the chosen name and a CSR for a key that was
/// generated on the board and never leaves it.
struct EnrollRequest {
    var token: String
    var name: String
    var csrPEM: String
    var agentVersion: String
    var arch: String

    /// Creates a request from its fields.
    init(token: String, name: String, csrPEM: String, agentVersion: String, arch: String) {
        self.token = token
        self.name = name
        self.csrPEM = csrPEM
        self.agentVersion = agentVersion
        self.arch = arch
    }

    /// Decodes a request (used by tests against the shared fixture).
    init(json: JSONValue) throws(NodeError) {
        token = try json.requiredString("token")
        name = try json.requiredString("name")
        csrPEM = try json.requiredString("csr_pem")
        agentVersion = try json.requiredString("agent_version")
        arch = try json.requiredString("arch")
    }

    /// The JSON body to send.
    func json() -> JSONValue {
        .object([
            JSONMember("token", .string(token)),
            JSONMember("name", .string(name)),
            JSONMember("csr_pem", .string(csrPEM)),
            JSONMember("agent_version", .string(agentVersion)),
            JSONMember("arch", .string(arch)),
        ])
    }
}
