/// The node's state directory (0700): `key.pem` (0600), `cert.pem`, `ca.pem`, `node.json`,
/// `gateway.key` (0600, the node's LLM gateway key) and `root-public-key` when node.conf pinned a
/// release root key (release files: `ReleaseStore`).
/// Every file is written to a temporary name, fsync'd and renamed. `node.json` is written last
/// at enrollment, so its presence (with `cert.pem`) means the identity is complete.
final class NodeState {
    var directory: String

    /// A state directory at `directory` (nothing is touched until a method is called).
    init(directory: String) {
        self.directory = directory
    }

    var keyPath: String { directory + "/key.pem" }
    var certificatePath: String { directory + "/cert.pem" }
    var caPath: String { directory + "/ca.pem" }
    var identityPath: String { directory + "/node.json" }
    /// The pinned release root key as node.conf gave it (base64 of the raw 32 bytes; empty: none).
    var rootPublicKeyPath: String { directory + "/root-public-key" }
    /// The node's LLM gateway key: what a local runtime presents as its API key.
    var gatewayKeyPath: String { directory + "/gateway.key" }
    var stagedKeyPath: String { directory + "/key.pem.new" }
    var stagedCertificatePath: String { directory + "/cert.pem.new" }

    /// True when node.json and cert.pem both exist.
    var isEnrolled: Bool {
        FileIO.exists(identityPath) && FileIO.exists(certificatePath)
    }

    /// Reads node.json; throws `.notEnrolled` when any identity file is missing.
    func loadIdentity() throws(NodeError) -> NodeIdentity {
        for path in [identityPath, certificatePath, keyPath, caPath] where !FileIO.exists(path) {
            throw .notEnrolled(Text.join("not enrolled: ", path, " is missing; run flotilla-node enroll first"))
        }
        return try NodeIdentity(json: try JSONParser(maxBytes: 64 * 1024).parse(try FileIO.read(identityPath)))
    }

    /// Stores a fresh enrollment: key, CA, certificate, then node.json. If any write fails, the
    /// files written so far are removed so no half identity is left behind.
    func storeEnrollment(keyPEM: [UInt8], certificatePEM: [UInt8], caPEM: [UInt8],
                                identity: NodeIdentity, rootPublicKey: String? = nil, gatewayKey: String? = nil) throws(NodeError) {
        // An empty root key file stands for "none" (releases disabled), so no stale key survives.
        var steps: [(String, [UInt8], UInt32)] = [
            (keyPath, keyPEM, 0o600),
            (caPath, caPEM, 0o644),
            (certificatePath, certificatePEM, 0o644),
            (rootPublicKeyPath, Array((rootPublicKey ?? "").utf8), 0o644),
        ]
        if let gatewayKey { steps.append((gatewayKeyPath, Array(gatewayKey.utf8), 0o600)) }
        steps.append((identityPath, JSONWriter.encode(identity.json()), 0o644))
        var written: [String] = []
        for (path, bytes, mode) in steps {
            do {
                try FileIO.writeAtomically(path, bytes, mode: mode)
                written.append(path)
            } catch {
                for path in written { FileIO.remove(path) }
                throw error
            }
        }
    }

    /// The id of the stored gateway key (first 16 hex digits of its SHA-256), nil without one.
    func gatewayKeyID() throws(NodeError) -> String? {
        guard FileIO.exists(gatewayKeyPath) else { return nil }
        return Hex.lowercase(Array(try SHA256.digest(try FileIO.read(gatewayKeyPath, maxBytes: 4096)).prefix(8)))
    }

    /// Replaces `gateway.key` (0600, atomically).
    func storeGatewayKey(_ key: String) throws(NodeError) {
        try FileIO.writeAtomically(gatewayKeyPath, Array(key.utf8), mode: 0o600)
    }

    /// The pinned release root key, or nil when enrollment had none (releases disabled).
    func loadRootPublicKey() throws(NodeError) -> [UInt8]? {
        guard FileIO.exists(rootPublicKeyPath) else { return nil }
        let text = try FileIO.read(rootPublicKeyPath, maxBytes: 4096)
        if text.isEmpty { return nil }
        guard let key = Base64.decode(text), key.count == 32 else {
            throw .invalidConfig(Text.join(rootPublicKeyPath, " does not hold base64 of a 32-byte key"))
        }
        return key
    }

    /// Replaces key.pem and cert.pem after a renewal without ever leaving a mismatched pair:
    /// both are first written and fsync'd as `.new` files (cert last, so `cert.pem.new` marks a
    /// complete pair), then renamed key-first. `recoverStagedRenewal` finishes an interrupted swap.
    func installRenewal(keyPEM: [UInt8], certificatePEM: [UInt8]) throws(NodeError) {
        do {
            try FileIO.writeSynced(stagedKeyPath, keyPEM, mode: 0o600)
            try FileIO.writeSynced(stagedCertificatePath, certificatePEM, mode: 0o644)
            try FileIO.syncDirectory(containing: stagedKeyPath)
        } catch {
            FileIO.remove(stagedKeyPath)
            FileIO.remove(stagedCertificatePath)
            throw error
        }
        try FileIO.rename(stagedKeyPath, keyPath)
        try FileIO.rename(stagedCertificatePath, certificatePath)
        try FileIO.syncDirectory(containing: keyPath)
    }

    /// Completes or discards a renewal interrupted by a crash or power loss. Returns true when
    /// a staged pair was installed.
    @discardableResult
    func recoverStagedRenewal() throws(NodeError) -> Bool {
        guard FileIO.exists(stagedCertificatePath) else {
            FileIO.remove(stagedKeyPath)
            return false
        }
        if FileIO.exists(stagedKeyPath) { try FileIO.rename(stagedKeyPath, keyPath) }
        try FileIO.rename(stagedCertificatePath, certificatePath)
        try FileIO.syncDirectory(containing: keyPath)
        return true
    }
}

/// Contents of node.json: who this node is and where its coordinator lives.
struct NodeIdentity {
    var nodeID: String
    var name: String
    var group: String
    /// The preferred coordinator.
    var coordinatorURL: String
    /// The fleet's coordinators in the order the node prefers them, `coordinatorURL` first when
    /// node.json lists none (a node enrolled before there were several).
    var coordinators: [String]

    /// Creates an identity from the enrollment answer.
    init(nodeID: String, name: String, group: String, coordinatorURL: String, coordinators: [String] = []) {
        self.nodeID = nodeID
        self.name = name
        self.group = group
        self.coordinatorURL = coordinatorURL
        self.coordinators = coordinators.isEmpty ? [coordinatorURL] : coordinators
    }

    /// Decodes node.json.
    init(json: JSONValue) throws(NodeError) {
        nodeID = try json.requiredString("node_id")
        name = try json.requiredString("name")
        group = try json.requiredString("group")
        coordinatorURL = try NodeConfig.normalizedURL(try json.requiredString("coordinator_url"))
        coordinators = try NodeConfig.urlList(json["coordinators"])
        if coordinators.isEmpty { coordinators = [coordinatorURL] }
    }

    /// The node.json document.
    func json() -> JSONValue {
        .object([
            JSONMember("node_id", .string(nodeID)),
            JSONMember("name", .string(name)),
            JSONMember("group", .string(group)),
            JSONMember("coordinator_url", .string(coordinatorURL)),
            JSONMember("coordinators", .array(coordinators.map(JSONValue.string))),
        ])
    }
}
