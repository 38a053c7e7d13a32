/// `flotilla-node enroll`: verifies the pinned CA, generates the node key on the board, sends a
/// CSR with the one-time token and stores the signed identity.
enum Enrollment {
    /// Runs one enrollment. Nothing is written to the state directory unless the coordinator
    /// answered 201 and every file could be stored.
    static func run(configPath: String, stateDirectory: String, name requestedName: String?)
        throws(NodeError) -> EnrollResponse {
        let config = try NodeConfig.load(configPath)
        try config.verifyPinnedCA()
        let state = NodeState(directory: stateDirectory)
        guard !state.isEnrolled else { throw .alreadyEnrolled(stateDirectory) }
        guard let name = requestedName ?? SystemIdentity.hostname() else {
            throw .invalidName("(hostname unavailable)")
        }
        guard NodeName.isValid(name) else { throw .invalidName(name) }
        try FileIO.makeDirectory(stateDirectory, mode: 0o700)

        let key = try NodeKey.generate()
        let csr = try CertificateSigningRequest.pem(key: key, commonName: name)
        let request = EnrollRequest(token: config.token, name: name, csrPEM: csr,
                                    agentVersion: AgentInfo.version,
                                    arch: SystemIdentity.current().machine ?? "unknown")
        let caPEM = Array(config.caPEM.utf8)
        let client = try HTTPClient(tls: HTTPClient.TLS(caPEM: caPEM))
        // Enrollment is a one-off an operator watches: it goes to `coordinator_url` (the
        // coordinator that made the token, `flotilla provision` puts it first); the running
        // agent fails over.
        Log.info("enrolling", [("name", name), ("coordinator", config.coordinatorURL)])
        let json = try client.postJSON(config.coordinatorURL + "/v1/enroll", request.json(), expected: 201)
        let response = try EnrollResponse(json: json)

        let certificatePEM = Array(response.certificatePEM.utf8)
        guard try Certificate(pem: certificatePEM).matches(key) else {
            throw .crypto("the coordinator's certificate does not match the key generated for this node")
        }
        let returnedCA = try Certificate(pem: Array(response.caPEM.utf8)).sha256Hex()
        guard Hex.equal(returnedCA, config.caSHA256) else {
            throw .caFingerprintMismatch(expected: config.caSHA256, actual: returnedCA)
        }
        let identity = NodeIdentity(nodeID: response.nodeID, name: response.name, group: response.group,
                                    coordinatorURL: config.coordinatorURL, coordinators: config.coordinators)
        try state.storeEnrollment(keyPEM: try key.pkcs8PEM(), certificatePEM: certificatePEM,
                                  caPEM: caPEM, identity: identity, rootPublicKey: config.rootPublicKey,
                                  gatewayKey: response.gatewayKey.flatMap(GatewayKey.validated))
        if config.rootPublicKey == nil {
            Log.warn("node.conf has no root_public_key: this node will not apply signed releases")
        }
        Log.info("enrolled", [("node_id", response.nodeID), ("name", response.name),
                              ("group", response.group), ("status", response.status),
                              ("certificate_expires_at", response.certificateExpiresAt)])
        return response
    }
}
