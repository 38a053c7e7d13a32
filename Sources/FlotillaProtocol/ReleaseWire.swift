/// Signed metadata as it travels: the exact payload bytes (base64) and signatures over them, so
/// no canonical JSON form is needed. See docs/releases.md.
public struct SignedEnvelope: Codable, Sendable, Equatable {
    /// Base64 of the payload JSON bytes.
    public var signed: String
    public var signatures: [EnvelopeSignature]

    public init(signed: String, signatures: [EnvelopeSignature]) {
        self.signed = signed
        self.signatures = signatures
    }
}

/// One Ed25519 signature over an envelope's payload bytes.
public struct EnvelopeSignature: Codable, Sendable, Equatable {
    /// Lowercase hex SHA-256 of the signer's raw 32-byte public key.
    public var keyID: String
    /// Base64 of the 64-byte signature.
    public var signature: String

    public init(keyID: String, signature: String) {
        self.keyID = keyID
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case signature
        case keyID = "key_id"
    }
}

/// A version of the fleet's trust root: which root key and which online signing keys are valid.
public struct RootDocument: Codable, Sendable, Equatable {
    public var type: String
    public var version: Int64
    public var createdAt: String
    /// Base64 of the raw root public key.
    public var rootKey: String
    /// Base64 of the raw signing public keys certified by this root.
    public var signingKeys: [String]
    /// True when a node that reaches this document forgets its release floor (the highest version
    /// it applied), so the fleet's current releases, signed by this document's keys, apply again
    /// on a node frozen by a bogus high version (`keys rotate-signing --reset-release-floor`).
    public var releaseFloorReset: Bool?

    public init(version: Int64, createdAt: String, rootKey: String, signingKeys: [String], releaseFloorReset: Bool? = nil) {
        self.type = "root"
        self.version = version
        self.createdAt = createdAt
        self.rootKey = rootKey
        self.signingKeys = signingKeys
        self.releaseFloorReset = releaseFloorReset
    }

    enum CodingKeys: String, CodingKey {
        case type, version
        case createdAt = "created_at"
        case rootKey = "root_key"
        case signingKeys = "signing_keys"
        case releaseFloorReset = "release_floor_reset"
    }
}

/// The signed description of one group's release: runtime config and every file.
public struct ReleaseManifest: Codable, Sendable, Equatable {
    public var type: String
    public var version: Int64
    public var group: String
    public var createdAt: String
    public var expiresAt: String
    public var runtimeConfig: JSONDocument
    public var files: [ManifestFile]
    /// The gateway models the node's runtime is configured to call (PicoClaw: `model_list`
    /// entries the agent writes with the coordinator's URL and the node's key); nil: none.
    public var gatewayModels: [GatewayModelEntry]?
    /// The nodes outside `group` this release is for (node ids of the nodes the group's
    /// `members` claimed). A node applies a manifest only for its own group or listing its id.
    public var memberNodeIDs: [String]?
    /// Where the group's local model answers (`LocalModel.healthURL`, plain http on the board):
    /// the node agent GETs it each heartbeat and reports `local_model: up|down`; nil: no local model.
    public var localModelHealthURL: String?

    public init(version: Int64, group: String, createdAt: String, expiresAt: String, runtimeConfig: JSONDocument, files: [ManifestFile],
                gatewayModels: [GatewayModelEntry]? = nil, memberNodeIDs: [String]? = nil, localModelHealthURL: String? = nil) {
        self.gatewayModels = gatewayModels
        self.memberNodeIDs = memberNodeIDs
        self.localModelHealthURL = localModelHealthURL
        self.type = "release"
        self.version = version
        self.group = group
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.runtimeConfig = runtimeConfig
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case type, version, group, files
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case runtimeConfig = "runtime_config"
        case gatewayModels = "gateway_models"
        case memberNodeIDs = "member_node_ids"
        case localModelHealthURL = "local_model_health_url"
    }
}

/// A model of the fleet gateway as a node's runtime sees it: the name it calls and the wire API
/// it calls it through.
public struct GatewayModelEntry: Codable, Sendable, Equatable {
    /// The model name the gateway routes (`fleet-default`).
    public var name: String
    /// The API family of its provider.
    public var api: ProviderKind

    public init(name: String, api: ProviderKind) {
        self.name = name
        self.api = api
    }
}

/// One file of a release, addressed by its SHA-256.
public struct ManifestFile: Codable, Sendable, Equatable {
    /// `skills/<name>/<relative path>`.
    public var path: String
    public var type: String
    public var size: Int64
    /// Lowercase hex SHA-256 of the content.
    public var sha256: String
    /// Permission bits: 0o644 or 0o755.
    public var mode: Int

    public init(path: String, size: Int64, sha256: String, mode: Int) {
        self.path = path
        self.type = "file"
        self.size = size
        self.sha256 = sha256
        self.mode = mode
    }
}

/// Where a node stands with a release. Raw values are part of the wire contract.
public enum ReleaseStatus: String, Codable, Sendable, CaseIterable {
    /// Assigned to the node, not yet reported on.
    case pending
    case downloading
    case applied
    case failed
    case rolledBack = "rolled_back"

    /// Whether the node is done with this release (successfully or not).
    public var isTerminal: Bool { self == .applied || self == .failed || self == .rolledBack }
}

/// Why a node refused or undid a release. Raw values are part of the wire contract.
public enum ReleaseErrorCode: String, Codable, Sendable, CaseIterable {
    case badManifest = "bad_manifest"
    case badSignature = "bad_signature"
    case rollbackRefused = "rollback_refused"
    case expired
    case unsafePath = "unsafe_path"
    case tooLarge = "too_large"
    case hashMismatch = "hash_mismatch"
    case healthCheckFailed = "health_check_failed"
    case downloadFailed = "download_failed"
    case applyFailed = "apply_failed"
    /// The runtime would not load the merged config on this node.
    case configRefused = "config_refused"
    /// Signed for another group and not listing this node.
    case wrongTarget = "wrong_target"
    /// A version further above the node's floor than any real fleet publishes.
    case versionOutOfRange = "version_out_of_range"
}

/// `POST /v1/release/report`: a node's progress with one release.
public struct ReleaseReport: Codable, Sendable, Equatable {
    public var version: Int64
    public var status: ReleaseStatus
    /// A `ReleaseErrorCode` raw value; kept as a string so a newer agent's codes still land.
    public var errorCode: String?
    public var message: String?
    /// `passed`, `skipped` or `failed`.
    public var health: String?

    public init(version: Int64, status: ReleaseStatus, errorCode: String? = nil, message: String? = nil, health: String? = nil) {
        self.version = version
        self.status = status
        self.errorCode = errorCode
        self.message = message
        self.health = health
    }

    enum CodingKeys: String, CodingKey {
        case version, status, message, health
        case errorCode = "error_code"
    }
}

/// `GET /v1/trust`: every root document in version order.
public struct TrustResponse: Codable, Sendable, Equatable {
    public var roots: [SignedEnvelope]
    public init(roots: [SignedEnvelope]) { self.roots = roots }
}
