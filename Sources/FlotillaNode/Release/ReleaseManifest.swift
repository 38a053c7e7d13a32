/// The payload of a release envelope (`type: "release"`): version, expiry, runtime config and
/// files. Parsing checks shapes only; `ReleaseCheck` decides whether the release is acceptable.
final class ReleaseManifest {
    /// One file entry. `path` is still unchecked here (see `ReleasePath`).
    struct File {
        var path: String
        var type: String
        var size: Int64
        /// Lowercase hex SHA-256 of the content (checked to be 64 hex digits, so it is safe in URLs).
        var sha256: String
        var mode: Int64
    }

    var version: Int64
    var group: String
    var createdAt: Int64
    var expiresAt: Int64
    /// Always an object (an absent `runtime_config` is an empty object).
    var runtimeConfig: JSONValue
    var files: [File]
    /// Whether the runtime is configured to call gateway models (`gateway_models` not empty):
    /// its config then references the node's gateway key (docs/picoclaw.md).
    var hasGatewayModels: Bool
    /// Nodes of other groups this release is for (`member_node_ids`).
    var memberNodeIDs: [String]
    /// The group's local model health URL (`local_model_health_url`, plain http), checked each
    /// heartbeat (LocalModelCheck); nil: the release declares no local model.
    var localModelHealthURL: String?

    /// Parses a manifest payload; throws `.invalidField` for any shape problem (which
    /// `ReleaseCheck.parse` reports as `bad_manifest`).
    init(payload: JSONValue) throws(NodeError) {
        guard SystemText.same(payload["type"]?.stringValue ?? "", "release") else {
            throw .invalidField("payload type is not \"release\"")
        }
        version = try payload.requiredInt("version")
        guard version >= 1 else { throw .invalidField("version must be >= 1") }
        group = try payload.requiredString("group")
        guard let created = RFC3339.unixSeconds(try payload.requiredString("created_at")),
              let expires = RFC3339.unixSeconds(try payload.requiredString("expires_at")) else {
            throw .invalidField("created_at/expires_at are not RFC 3339 times")
        }
        createdAt = created
        expiresAt = expires
        switch payload["runtime_config"] {
        case nil, .null?: runtimeConfig = .object([])
        case .object(let members)?: runtimeConfig = .object(members)
        default: throw .invalidField("runtime_config is not an object")
        }
        hasGatewayModels = !(payload["gateway_models"]?.arrayValue ?? []).isEmpty
        switch payload["local_model_health_url"] {
        case nil, .null?: localModelHealthURL = nil
        case .string(let url)? where SystemText.hasPrefix(Array(url.utf8)[...], "http://"): localModelHealthURL = url
        default: throw .invalidField("local_model_health_url is not an http:// URL")
        }
        memberNodeIDs = []
        switch payload["member_node_ids"] {
        case nil, .null?: break
        case .array(let ids)?:
            for id in ids {
                guard let text = id.stringValue else { throw .invalidField("member_node_ids holds a non-string") }
                memberNodeIDs.append(text)
            }
        default: throw .invalidField("member_node_ids is not an array")
        }
        guard let entries = payload["files"]?.arrayValue else { throw .invalidField("files is not an array") }
        files = []
        for entry in entries {
            let file = File(path: try entry.requiredString("path"), type: try entry.requiredString("type"),
                            size: try entry.requiredInt("size"), sha256: try entry.requiredString("sha256"),
                            mode: try entry.requiredInt("mode"))
            guard file.size >= 0 else { throw .invalidField("file size is negative") }
            guard Hex.isLowercase(file.sha256, count: 64) else {
                throw .invalidField("file sha256 is not 64 lowercase hex digits")
            }
            files.append(file)
        }
    }

    /// True when this release is for `target`: its group, or a node its group's members claimed.
    func isFor(_ target: ReleaseTarget) -> Bool {
        SystemText.same(group, target.group) || memberNodeIDs.contains { SystemText.same($0, target.nodeID) }
    }

    /// True when skill `name` has exactly the same files (paths, digests, modes, in order) in
    /// both manifests, so applying one over the other need not touch it.
    func sameSkill(_ name: String, as other: ReleaseManifest) -> Bool {
        var mine = 0
        var theirs = 0
        while true {
            while mine < files.count, !ReleasePath.inSkill(files[mine].path, name) { mine += 1 }
            while theirs < other.files.count, !ReleasePath.inSkill(other.files[theirs].path, name) { theirs += 1 }
            guard mine < files.count, theirs < other.files.count else {
                return mine == files.count && theirs == other.files.count
            }
            let a = files[mine], b = other.files[theirs]
            guard SystemText.same(a.path, b.path), SystemText.same(a.sha256, b.sha256), a.mode == b.mode else { return false }
            mine += 1
            theirs += 1
        }
    }

    /// Skill names in first-seen order, from paths already checked by `ReleasePath`.
    var skillNames: [String] {
        var names: [String] = []
        for file in files {
            guard let name = ReleasePath.skillName(file.path) else { continue }
            if !names.contains(where: { SystemText.same($0, name) }) { names.append(name) }
        }
        return names
    }
}
