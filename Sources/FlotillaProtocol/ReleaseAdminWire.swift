/// How a rollout proceeds through a group's nodes: a canary wave, then batches, pausing when too
/// many nodes fail.
public struct RolloutPolicy: Codable, Sendable, Equatable {
    /// Nodes in the first wave.
    public var canary: Int
    /// Nodes per later wave, as a count…
    public var batchSize: Int?
    /// …or as a percentage of the rollout's nodes (rounded up). One of the two is set.
    public var batchPercent: Double?
    /// Pause between a wave finishing and the next starting.
    public var waitSeconds: Double
    /// Pause the rollout once this many nodes failed or rolled back…
    public var failureThreshold: Int?
    /// …or this percentage of its nodes.
    public var failurePercent: Double?

    public init(canary: Int = 1, batchSize: Int? = nil, batchPercent: Double? = 25, waitSeconds: Double = 10,
                failureThreshold: Int? = 1, failurePercent: Double? = nil) {
        self.canary = canary
        self.batchSize = batchSize
        self.batchPercent = batchPercent
        self.waitSeconds = waitSeconds
        self.failureThreshold = failureThreshold
        self.failurePercent = failurePercent
    }

    enum CodingKeys: String, CodingKey {
        case canary
        case batchSize = "batch_size"
        case batchPercent = "batch_percent"
        case waitSeconds = "wait_seconds"
        case failureThreshold = "failure_threshold"
        case failurePercent = "failure_percent"
    }
}

/// One file of a skill as the CLI read it from `fleet/skills/<name>/`.
public struct PublishFile: Codable, Sendable, Equatable {
    /// Relative to the skill directory (`SKILL.md`, `scripts/run.sh`).
    public var path: String
    public var mode: Int
    /// Base64 of the content.
    public var content: String

    public init(path: String, mode: Int, content: String) {
        self.path = path
        self.mode = mode
        self.content = content
    }
}

/// A skill and its files.
public struct PublishSkill: Codable, Sendable, Equatable {
    public var name: String
    public var files: [PublishFile]

    public init(name: String, files: [PublishFile]) {
        self.name = name
        self.files = files
    }
}

/// One group of the fleet spec, resolved: its runtime config, its skills, its policy.
public struct PublishGroup: Codable, Sendable, Equatable {
    public var name: String
    /// Node names that belong to the group besides the nodes enrolled into it.
    public var members: [String]
    public var runtime: String
    public var config: JSONDocument
    public var skills: [PublishSkill]
    public var rollout: RolloutPolicy
    /// Gateway models the group's runtime is configured to call; nil: none.
    public var gatewayModels: [GatewayModelEntry]?
    /// The model server on each board, PicoClaw's last fallback; nil: none.
    public var localModel: LocalModel?

    public init(name: String, members: [String] = [], runtime: String = "picoclaw", config: JSONDocument = .object([]),
                skills: [PublishSkill], rollout: RolloutPolicy = RolloutPolicy(), gatewayModels: [GatewayModelEntry]? = nil,
                localModel: LocalModel? = nil) {
        self.gatewayModels = gatewayModels
        self.localModel = localModel
        self.name = name
        self.members = members
        self.runtime = runtime
        self.config = config
        self.skills = skills
        self.rollout = rollout
    }

    enum CodingKeys: String, CodingKey {
        case name, members, runtime, config, skills, rollout
        case gatewayModels = "gateway_models"
        case localModel = "local_model"
    }
}

/// `POST /admin/v1/releases`: the whole fleet spec. With `dry_run` nothing is published and the
/// answer is the plan.
public struct PublishRequest: Codable, Sendable, Equatable {
    public var dryRun: Bool
    /// How long the signed manifests stay valid.
    public var expiresAfterSeconds: Int64
    public var groups: [PublishGroup]
    /// The gateway configuration (providers, prices, group model lists); nil leaves the
    /// coordinator's as it is.
    public var gateway: GatewaySpec?

    public init(dryRun: Bool, expiresAfterSeconds: Int64 = 30 * 86_400, groups: [PublishGroup], gateway: GatewaySpec? = nil) {
        self.dryRun = dryRun
        self.expiresAfterSeconds = expiresAfterSeconds
        self.groups = groups
        self.gateway = gateway
    }

    enum CodingKeys: String, CodingKey {
        case groups, gateway
        case dryRun = "dry_run"
        case expiresAfterSeconds = "expires_after_seconds"
    }
}

/// What publishing would change for one group.
public struct GroupPlan: Codable, Sendable, Equatable {
    public var group: String
    public var changed: Bool
    public var skillsAdded: [String]
    public var skillsChanged: [String]
    public var skillsRemoved: [String]
    public var configAdded: [String]
    public var configChanged: [String]
    public var configRemoved: [String]
    /// Names of the nodes the release would go to.
    public var nodes: [String]
    /// The group's current release, if any.
    public var currentVersion: Int64?

    public init(group: String, changed: Bool, skillsAdded: [String], skillsChanged: [String], skillsRemoved: [String],
                configAdded: [String], configChanged: [String], configRemoved: [String], nodes: [String], currentVersion: Int64?) {
        self.group = group
        self.changed = changed
        self.skillsAdded = skillsAdded
        self.skillsChanged = skillsChanged
        self.skillsRemoved = skillsRemoved
        self.configAdded = configAdded
        self.configChanged = configChanged
        self.configRemoved = configRemoved
        self.nodes = nodes
        self.currentVersion = currentVersion
    }

    enum CodingKeys: String, CodingKey {
        case group, changed, nodes
        case skillsAdded = "skills_added"
        case skillsChanged = "skills_changed"
        case skillsRemoved = "skills_removed"
        case configAdded = "config_added"
        case configChanged = "config_changed"
        case configRemoved = "config_removed"
        case currentVersion = "current_version"
    }
}

/// The answer to a publish: the plan, and the release version when something was published.
public struct PublishResponse: Codable, Sendable, Equatable {
    public var groups: [GroupPlan]
    /// Nil for a dry run or when nothing changed.
    public var releaseVersion: Int64?
    /// What changes in the gateway configuration; nil when the request carried none.
    public var gateway: GatewayPlan?

    public init(groups: [GroupPlan], releaseVersion: Int64?, gateway: GatewayPlan? = nil) {
        self.groups = groups
        self.releaseVersion = releaseVersion
        self.gateway = gateway
    }

    enum CodingKeys: String, CodingKey {
        case groups, gateway
        case releaseVersion = "release_version"
    }
}

/// The lifecycle of a rollout. Raw values are part of the admin API.
public enum RolloutState: String, Codable, Sendable, CaseIterable {
    case running
    case paused
    /// Every wave started and every reachable node finished.
    case completed
    case aborted
    /// A newer release for the same groups took over.
    case superseded
}

/// One node's part in a rollout.
public struct RolloutNodeView: Codable, Sendable, Equatable {
    public var name: String
    public var group: String
    public var wave: Int
    /// `waiting` (its wave has not started) or a `ReleaseStatus` raw value.
    public var status: String
    public var errorCode: String?
    public var message: String?
    public var online: Bool

    public init(name: String, group: String, wave: Int, status: String, errorCode: String?, message: String?, online: Bool) {
        self.name = name
        self.group = group
        self.wave = wave
        self.status = status
        self.errorCode = errorCode
        self.message = message
        self.online = online
    }

    enum CodingKeys: String, CodingKey {
        case name, group, wave, status, message, online
        case errorCode = "error_code"
    }
}

/// A rollout: its state, wave progress and per-node status counts.
public struct RolloutView: Codable, Sendable, Equatable {
    public var version: Int64
    public var state: RolloutState
    public var groups: [String]
    public var createdAt: String
    public var waves: Int
    /// Waves started so far (1 = canary only).
    public var wavesStarted: Int
    public var total: Int
    /// Counts by status: waiting, pending, downloading, applied, failed, rolled_back.
    public var counts: [String: Int]
    /// Nodes of started waves that are offline and will be updated when they return.
    public var offline: Int
    public var reason: String?
    public var nodes: [RolloutNodeView]?

    public init(version: Int64, state: RolloutState, groups: [String], createdAt: String, waves: Int, wavesStarted: Int,
                total: Int, counts: [String: Int], offline: Int, reason: String?, nodes: [RolloutNodeView]?) {
        self.version = version
        self.state = state
        self.groups = groups
        self.createdAt = createdAt
        self.waves = waves
        self.wavesStarted = wavesStarted
        self.total = total
        self.counts = counts
        self.offline = offline
        self.reason = reason
        self.nodes = nodes
    }

    enum CodingKeys: String, CodingKey {
        case version, state, groups, waves, total, counts, offline, reason, nodes
        case createdAt = "created_at"
        case wavesStarted = "waves_started"
    }
}

/// `GET /admin/v1/keys`: the current trust root.
public struct KeysView: Codable, Sendable, Equatable {
    public var rootVersion: Int64
    public var rootKeyID: String
    /// Base64 of the raw root public key (what `node.conf` pins).
    public var rootPublicKey: String
    /// Whether the coordinator holds the root private key (false once exported with `--remove`).
    public var rootKeyOnline: Bool
    public var signingKeyIDs: [String]

    public init(rootVersion: Int64, rootKeyID: String, rootPublicKey: String, rootKeyOnline: Bool, signingKeyIDs: [String]) {
        self.rootVersion = rootVersion
        self.rootKeyID = rootKeyID
        self.rootPublicKey = rootPublicKey
        self.rootKeyOnline = rootKeyOnline
        self.signingKeyIDs = signingKeyIDs
    }

    enum CodingKeys: String, CodingKey {
        case rootVersion = "root_version"
        case rootKeyID = "root_key_id"
        case rootPublicKey = "root_public_key"
        case rootKeyOnline = "root_key_online"
        case signingKeyIDs = "signing_key_ids"
    }
}

/// `POST /admin/v1/keys/rotate-signing` and `rotate-root`: with the root key offline, the caller
/// supplies its key file text; the coordinator uses it in memory only and never stores it.
public struct KeyRotationRequest: Codable, Sendable, Equatable {
    public var rootKey: String?
    /// For a root rotation: keep the new root key on the coordinator (default) or hand it back.
    public var keepRootOnline: Bool?
    /// For a signing-key rotation: the new root document resets every node's release floor.
    public var resetReleaseFloor: Bool?

    public init(rootKey: String? = nil, keepRootOnline: Bool? = nil, resetReleaseFloor: Bool? = nil) {
        self.rootKey = rootKey
        self.keepRootOnline = keepRootOnline
        self.resetReleaseFloor = resetReleaseFloor
    }

    enum CodingKeys: String, CodingKey {
        case rootKey = "root_key"
        case keepRootOnline = "keep_root_online"
        case resetReleaseFloor = "reset_release_floor"
    }
}

/// The trust root after a rotation, and a root key file handed back when not kept online.
public struct KeyRotationResponse: Codable, Sendable, Equatable {
    public var keys: KeysView
    public var rootKey: String?

    public init(keys: KeysView, rootKey: String?) {
        self.keys = keys
        self.rootKey = rootKey
    }

    enum CodingKeys: String, CodingKey {
        case keys
        case rootKey = "root_key"
    }
}

/// `POST /admin/v1/keys/export-root`.
public struct ExportRootRequest: Codable, Sendable, Equatable {
    /// Delete the root key from the coordinator after exporting it.
    public var remove: Bool
    public init(remove: Bool) { self.remove = remove }
}

/// `POST /admin/v1/rollouts/rollback`.
public struct RollbackRequest: Codable, Sendable, Equatable {
    public var group: String?
    public init(group: String?) { self.group = group }
}

/// `POST /admin/v1/admin-token/rotate`: the new admin token, given once.
public struct AdminTokenRotation: Codable, Sendable, Equatable {
    public var adminToken: String

    public init(adminToken: String) {
        self.adminToken = adminToken
    }

    enum CodingKeys: String, CodingKey {
        case adminToken = "admin_token"
    }
}
