/// Body of `POST /v1/enroll`: a board presents its token and a CSR for a key it generated itself.
public struct EnrollRequest: Codable, Sendable, Equatable {
    public var token: String
    public var name: String
    public var csrPEM: String
    public var agentVersion: String?
    public var arch: String?

    public init(token: String, name: String, csrPEM: String, agentVersion: String?, arch: String?) {
        self.token = token
        self.name = name
        self.csrPEM = csrPEM
        self.agentVersion = agentVersion
        self.arch = arch
    }

    enum CodingKeys: String, CodingKey {
        case token, name, arch
        case csrPEM = "csr_pem"
        case agentVersion = "agent_version"
    }
}

/// Answer to a successful enrollment: the node's identity and certificate.
public struct EnrollResponse: Codable, Sendable, Equatable {
    public var nodeID: String
    public var name: String
    public var group: String
    public var status: NodeAdminState
    public var certificatePEM: String
    public var caPEM: String
    public var certificateExpiresAt: String
    public var heartbeatIntervalSeconds: Int
    /// The node's LLM gateway key, shown this once (the agent stores it as `gateway.key`, 0600).
    public var gatewayKey: String?

    public init(
        nodeID: String, name: String, group: String, status: NodeAdminState, certificatePEM: String,
        caPEM: String, certificateExpiresAt: String, heartbeatIntervalSeconds: Int, gatewayKey: String? = nil
    ) {
        self.gatewayKey = gatewayKey
        self.nodeID = nodeID
        self.name = name
        self.group = group
        self.status = status
        self.certificatePEM = certificatePEM
        self.caPEM = caPEM
        self.certificateExpiresAt = certificateExpiresAt
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case name, group, status
        case nodeID = "node_id"
        case certificatePEM = "certificate_pem"
        case caPEM = "ca_pem"
        case certificateExpiresAt = "certificate_expires_at"
        case heartbeatIntervalSeconds = "heartbeat_interval_seconds"
        case gatewayKey = "gateway_key"
    }
}

/// One thermal zone reading.
public struct TemperatureReading: Codable, Sendable, Equatable {
    public var zone: String
    public var type: String?
    public var celsius: Double

    public init(zone: String, type: String?, celsius: Double) {
        self.zone = zone
        self.type = type
        self.celsius = celsius
    }
}

/// Body of `POST /v1/heartbeat`: the node's readings. Every reading is optional.
public struct HeartbeatRequest: Codable, Sendable, Equatable {
    public var sequence: Int64?
    public var agentVersion: String?
    public var arch: String?
    public var kernel: String?
    public var uptimeSeconds: Double?
    public var load1m: Double?
    public var load5m: Double?
    public var load15m: Double?
    public var cpuPercent: Double?
    public var memTotalBytes: Int64?
    public var memAvailableBytes: Int64?
    public var diskTotalBytes: Int64?
    public var diskFreeBytes: Int64?
    public var temperatures: [TemperatureReading]?
    /// Whether the local model the node's release declares answers its health check: `up` or
    /// `down` (`LocalModelHealth`); nil when it declares none, or from an agent that predates
    /// the check. A String rather than the enum, so that another value reaches
    /// `HeartbeatValidation`, which refuses it by name, instead of failing as a decoding error.
    public var localModel: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sequence, arch, kernel, temperatures
        case localModel = "local_model"
        case agentVersion = "agent_version"
        case uptimeSeconds = "uptime_seconds"
        case load1m = "load_1m"
        case load5m = "load_5m"
        case load15m = "load_15m"
        case cpuPercent = "cpu_percent"
        case memTotalBytes = "mem_total_bytes"
        case memAvailableBytes = "mem_available_bytes"
        case diskTotalBytes = "disk_total_bytes"
        case diskFreeBytes = "disk_free_bytes"
    }

    /// The hottest zone, which is what the fleet view shows.
    public var maxTemperatureCelsius: Double? {
        temperatures?.map(\.celsius).max()
    }
}

/// What a heartbeat's `local_model` may say about the board's own model server (`LocalModel`):
/// `up` when its health URL answers 2xx, `down` when it does not answer or answers otherwise.
public enum LocalModelHealth: String, Codable, Sendable, Equatable {
    case up
    case down
}

/// Answer to a heartbeat, sent only once it is durably stored.
public struct HeartbeatResponse: Codable, Sendable, Equatable {
    public var status: NodeAdminState
    public var heartbeatIntervalSeconds: Int
    public var renewCertificate: Bool
    public var serverTime: String
    /// Id of the node's current gateway key, `null` when it has none: an agent whose
    /// `gateway.key` has another id (or none) fetches a new key from `POST /v1/gateway-key`.
    public var gatewayKeyID: String?

    public init(status: NodeAdminState, heartbeatIntervalSeconds: Int, renewCertificate: Bool, serverTime: String, gatewayKeyID: String? = nil) {
        self.gatewayKeyID = gatewayKeyID
        self.status = status
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.renewCertificate = renewCertificate
        self.serverTime = serverTime
    }

    enum CodingKeys: String, CodingKey {
        case status
        case heartbeatIntervalSeconds = "heartbeat_interval_seconds"
        case renewCertificate = "renew_certificate"
        case serverTime = "server_time"
        case gatewayKeyID = "gateway_key_id"
    }

    /// Writes `gateway_key_id` as `null` rather than leaving it out: absent means a coordinator
    /// without a gateway, null means "no key yet, fetch one".
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(heartbeatIntervalSeconds, forKey: .heartbeatIntervalSeconds)
        try c.encode(renewCertificate, forKey: .renewCertificate)
        try c.encode(serverTime, forKey: .serverTime)
        try c.encode(gatewayKeyID, forKey: .gatewayKeyID)
    }
}

/// Body of `POST /v1/renew`: a CSR for a fresh key.
public struct RenewRequest: Codable, Sendable, Equatable {
    public var csrPEM: String

    public init(csrPEM: String) { self.csrPEM = csrPEM }

    enum CodingKeys: String, CodingKey { case csrPEM = "csr_pem" }
}

/// Answer to a renewal.
public struct RenewResponse: Codable, Sendable, Equatable {
    public var certificatePEM: String
    public var certificateExpiresAt: String
    public var caPEM: String

    public init(certificatePEM: String, certificateExpiresAt: String, caPEM: String) {
        self.certificatePEM = certificatePEM
        self.certificateExpiresAt = certificateExpiresAt
        self.caPEM = caPEM
    }

    enum CodingKeys: String, CodingKey {
        case certificatePEM = "certificate_pem"
        case certificateExpiresAt = "certificate_expires_at"
        case caPEM = "ca_pem"
    }
}

/// The admin-controlled state of a node; the fleet view derives online/stale/offline from it.
public enum NodeAdminState: String, Codable, Sendable, Equatable {
    case active
    case pending
    case revoked
}

/// Contents of a provisioning bundle's `node.conf`.
public struct NodeConf: Codable, Sendable, Equatable {
    public var coordinatorURL: String
    public var caPEM: String
    public var caSHA256: String
    public var token: String
    public var group: String
    /// The fleet's root public key (base64 of the raw 32-byte Ed25519 key) that every release
    /// must chain to. Optional so bundles made before signed releases still parse.
    public var rootPublicKey: String?
    /// Every coordinator of the fleet, `coordinatorURL` first: the node fails over to the next
    /// when the one it uses stops answering. Absent from bundles of a single coordinator's day.
    public var coordinators: [String]?

    public init(coordinatorURL: String, caPEM: String, caSHA256: String, token: String, group: String, rootPublicKey: String? = nil,
                coordinators: [String]? = nil) {
        self.coordinatorURL = coordinatorURL
        self.coordinators = coordinators
        self.caPEM = caPEM
        self.caSHA256 = caSHA256
        self.token = token
        self.group = group
        self.rootPublicKey = rootPublicKey
    }

    enum CodingKeys: String, CodingKey {
        case token, group, coordinators
        case coordinatorURL = "coordinator_url"
        case caPEM = "ca_pem"
        case caSHA256 = "ca_sha256"
        case rootPublicKey = "root_public_key"
    }
}
