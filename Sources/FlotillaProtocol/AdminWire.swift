/// Body of `POST /admin/v1/tokens`.
public struct CreateTokenRequest: Codable, Sendable, Equatable {
    public var group: String
    public var uses: Int
    public var ttlSeconds: Int
    public var requireApproval: Bool

    public init(group: String, uses: Int, ttlSeconds: Int, requireApproval: Bool) {
        self.group = group
        self.uses = uses
        self.ttlSeconds = ttlSeconds
        self.requireApproval = requireApproval
    }

    enum CodingKeys: String, CodingKey {
        case group, uses
        case ttlSeconds = "ttl_seconds"
        case requireApproval = "require_approval"
    }
}

/// A freshly created enrollment token, the only time its plain value is shown, plus what a
/// provisioning bundle needs to reach and trust the coordinator.
public struct CreatedToken: Codable, Sendable, Equatable {
    public var id: String
    public var token: String
    public var group: String
    public var uses: Int
    public var expiresAt: String
    public var requireApproval: Bool
    public var coordinatorURL: String
    public var caPEM: String
    public var caSHA256: String
    /// The fleet's root public key for `node.conf` (base64 raw Ed25519).
    public var rootPublicKey: String?
    /// The URLs of every running coordinator of the fleet, the one that answered first.
    public var coordinators: [String]?

    public init(
        id: String, token: String, group: String, uses: Int, expiresAt: String, requireApproval: Bool,
        coordinatorURL: String, caPEM: String, caSHA256: String, rootPublicKey: String? = nil, coordinators: [String]? = nil
    ) {
        self.rootPublicKey = rootPublicKey
        self.coordinators = coordinators
        self.id = id
        self.token = token
        self.group = group
        self.uses = uses
        self.expiresAt = expiresAt
        self.requireApproval = requireApproval
        self.coordinatorURL = coordinatorURL
        self.caPEM = caPEM
        self.caSHA256 = caSHA256
    }

    enum CodingKeys: String, CodingKey {
        case id, token, group, uses, coordinators
        case expiresAt = "expires_at"
        case requireApproval = "require_approval"
        case coordinatorURL = "coordinator_url"
        case caPEM = "ca_pem"
        case caSHA256 = "ca_sha256"
        case rootPublicKey = "root_public_key"
    }
}

/// An enrollment token as listed by the admin API (never with its secret).
public struct TokenInfo: Codable, Sendable, Equatable {
    /// Whether the token can still enroll a board.
    public enum State: String, Codable, Sendable {
        case usable, exhausted, expired, revoked
    }

    public var id: String
    public var group: String
    public var uses: Int
    public var usesLeft: Int
    public var createdAt: String
    public var expiresAt: String
    public var requireApproval: Bool
    public var state: State

    public init(
        id: String, group: String, uses: Int, usesLeft: Int, createdAt: String, expiresAt: String,
        requireApproval: Bool, state: State
    ) {
        self.id = id
        self.group = group
        self.uses = uses
        self.usesLeft = usesLeft
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.requireApproval = requireApproval
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case id, group, uses, state
        case usesLeft = "uses_left"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case requireApproval = "require_approval"
    }
}

/// The health a fleet view shows for a node.
public enum NodeStatus: String, Codable, Sendable, Equatable, CaseIterable {
    /// Seen within two heartbeat intervals.
    case online
    /// Seen within ten intervals.
    case stale
    /// Not seen for longer, or never.
    case offline
    /// Enrolled, waiting for `flotilla node approve`.
    case pending
    /// Revoked by the admin; its certificate is refused.
    case revoked
}

/// One node as the admin API reports it (`flotilla nodes --json`, `flotilla node show`).
public struct NodeView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var group: String
    public var status: NodeStatus
    public var enrolledAt: String
    public var lastSeen: String?
    public var arch: String?
    public var agentVersion: String?
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
    public var temperatureC: Double?
    public var temperatures: [TemperatureReading]
    public var certificateExpiresAt: String?
    /// The release version the node last reported on (applied, failed, ...), nil before any.
    public var releaseVersion: Int64?
    /// `pending`, `downloading`, `applied`, `failed`, `rolled_back`; nil when no release is assigned.
    public var releaseStatus: String?
    /// The error code of a failed or rolled-back release.
    public var releaseError: String?
    /// Gateway spend today and this calendar month (UTC), USD.
    public var costTodayUSD: Double
    public var costMonthUSD: Double
    /// Id of the node's current gateway key; nil until the node has fetched one.
    public var gatewayKeyID: String?
    /// The highest share of a budget limit spent, over the node's own, its group's and the
    /// fleet's budgets in the current periods; nil when none applies.
    public var budgetUsedPercent: Double?
    /// Whether the local model of the node's release answers, as its latest heartbeat said:
    /// `up` or `down` (`LocalModelHealth`); nil when the node reported none.
    public var localModel: String?

    public init(
        id: String, name: String, group: String, status: NodeStatus, enrolledAt: String, lastSeen: String?,
        arch: String?, agentVersion: String?, kernel: String?, uptimeSeconds: Double?, load1m: Double?,
        load5m: Double?, load15m: Double?, cpuPercent: Double?, memTotalBytes: Int64?, memAvailableBytes: Int64?,
        diskTotalBytes: Int64?, diskFreeBytes: Int64?, temperatureC: Double?, temperatures: [TemperatureReading],
        certificateExpiresAt: String?, releaseVersion: Int64? = nil, releaseStatus: String? = nil, releaseError: String? = nil,
        costTodayUSD: Double = 0, costMonthUSD: Double = 0, gatewayKeyID: String? = nil, budgetUsedPercent: Double? = nil,
        localModel: String? = nil
    ) {
        self.budgetUsedPercent = budgetUsedPercent
        self.localModel = localModel
        self.costTodayUSD = costTodayUSD
        self.costMonthUSD = costMonthUSD
        self.gatewayKeyID = gatewayKeyID
        self.id = id
        self.name = name
        self.group = group
        self.status = status
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.arch = arch
        self.agentVersion = agentVersion
        self.kernel = kernel
        self.uptimeSeconds = uptimeSeconds
        self.load1m = load1m
        self.load5m = load5m
        self.load15m = load15m
        self.cpuPercent = cpuPercent
        self.memTotalBytes = memTotalBytes
        self.memAvailableBytes = memAvailableBytes
        self.diskTotalBytes = diskTotalBytes
        self.diskFreeBytes = diskFreeBytes
        self.temperatureC = temperatureC
        self.temperatures = temperatures
        self.certificateExpiresAt = certificateExpiresAt
        self.releaseVersion = releaseVersion
        self.releaseStatus = releaseStatus
        self.releaseError = releaseError
    }

    enum CodingKeys: String, CodingKey {
        case id, name, group, status, arch, kernel, temperatures
        case enrolledAt = "enrolled_at"
        case lastSeen = "last_seen"
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
        case temperatureC = "temperature_c"
        case certificateExpiresAt = "certificate_expires_at"
        case releaseVersion = "release_version"
        case releaseStatus = "release_status"
        case releaseError = "release_error"
        case costTodayUSD = "cost_today_usd"
        case costMonthUSD = "cost_month_usd"
        case gatewayKeyID = "gateway_key_id"
        case budgetUsedPercent = "budget_used_percent"
        case localModel = "local_model"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        group = try c.decode(String.self, forKey: .group)
        status = try c.decode(NodeStatus.self, forKey: .status)
        enrolledAt = try c.decode(String.self, forKey: .enrolledAt)
        lastSeen = try c.decodeIfPresent(String.self, forKey: .lastSeen)
        arch = try c.decodeIfPresent(String.self, forKey: .arch)
        agentVersion = try c.decodeIfPresent(String.self, forKey: .agentVersion)
        kernel = try c.decodeIfPresent(String.self, forKey: .kernel)
        uptimeSeconds = try c.decodeIfPresent(Double.self, forKey: .uptimeSeconds)
        load1m = try c.decodeIfPresent(Double.self, forKey: .load1m)
        load5m = try c.decodeIfPresent(Double.self, forKey: .load5m)
        load15m = try c.decodeIfPresent(Double.self, forKey: .load15m)
        cpuPercent = try c.decodeIfPresent(Double.self, forKey: .cpuPercent)
        memTotalBytes = try c.decodeIfPresent(Int64.self, forKey: .memTotalBytes)
        memAvailableBytes = try c.decodeIfPresent(Int64.self, forKey: .memAvailableBytes)
        diskTotalBytes = try c.decodeIfPresent(Int64.self, forKey: .diskTotalBytes)
        diskFreeBytes = try c.decodeIfPresent(Int64.self, forKey: .diskFreeBytes)
        temperatureC = try c.decodeIfPresent(Double.self, forKey: .temperatureC)
        temperatures = try c.decodeIfPresent([TemperatureReading].self, forKey: .temperatures) ?? []
        certificateExpiresAt = try c.decodeIfPresent(String.self, forKey: .certificateExpiresAt)
        releaseVersion = try c.decodeIfPresent(Int64.self, forKey: .releaseVersion)
        releaseStatus = try c.decodeIfPresent(String.self, forKey: .releaseStatus)
        releaseError = try c.decodeIfPresent(String.self, forKey: .releaseError)
        costTodayUSD = try c.decodeIfPresent(Double.self, forKey: .costTodayUSD) ?? 0
        costMonthUSD = try c.decodeIfPresent(Double.self, forKey: .costMonthUSD) ?? 0
        gatewayKeyID = try c.decodeIfPresent(String.self, forKey: .gatewayKeyID)
        budgetUsedPercent = try c.decodeIfPresent(Double.self, forKey: .budgetUsedPercent)
        localModel = try c.decodeIfPresent(String.self, forKey: .localModel)
    }

    /// Encodes nil readings as JSON `null` rather than omitting them, so `--json` consumers can rely
    /// on every documented key being present.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(group, forKey: .group)
        try c.encode(status, forKey: .status)
        try c.encode(enrolledAt, forKey: .enrolledAt)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(arch, forKey: .arch)
        try c.encode(agentVersion, forKey: .agentVersion)
        try c.encode(kernel, forKey: .kernel)
        try c.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try c.encode(load1m, forKey: .load1m)
        try c.encode(load5m, forKey: .load5m)
        try c.encode(load15m, forKey: .load15m)
        try c.encode(cpuPercent, forKey: .cpuPercent)
        try c.encode(memTotalBytes, forKey: .memTotalBytes)
        try c.encode(memAvailableBytes, forKey: .memAvailableBytes)
        try c.encode(diskTotalBytes, forKey: .diskTotalBytes)
        try c.encode(diskFreeBytes, forKey: .diskFreeBytes)
        try c.encode(temperatureC, forKey: .temperatureC)
        try c.encode(temperatures, forKey: .temperatures)
        try c.encode(certificateExpiresAt, forKey: .certificateExpiresAt)
        try c.encode(releaseVersion, forKey: .releaseVersion)
        try c.encode(releaseStatus, forKey: .releaseStatus)
        try c.encode(releaseError, forKey: .releaseError)
        try c.encode(costTodayUSD, forKey: .costTodayUSD)
        try c.encode(costMonthUSD, forKey: .costMonthUSD)
        try c.encode(gatewayKeyID, forKey: .gatewayKeyID)
        try c.encode(budgetUsedPercent, forKey: .budgetUsedPercent)
        try c.encode(localModel, forKey: .localModel)
    }
}

/// Header names of the admin API shared by the coordinator and the CLI.
public enum AdminHeaders {
    /// Carries the content of the data directory's `local.key`: with the admin token, it
    /// authorises exporting or replacing the root key.
    public static let localKey = "Flotilla-Local-Key"
}
