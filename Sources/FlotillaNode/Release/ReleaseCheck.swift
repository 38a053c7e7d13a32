/// The node's acceptance test for a release envelope: the checks of docs/releases.md in the
/// contract's order, each failure thrown as `.release(code, message)` with the first failing
/// check's code. Downloaded files get the last check (`hash_mismatch`) in `ReleaseDownloader`.
enum ReleaseCheck {
    /// Expiry slack: a manifest is still accepted this long after `expires_at`.
    static let expirySlackSeconds: Int64 = 300
    static let maxEnvelopeBytes = 1 << 20
    static let maxFiles = 1000
    static let maxFileBytes: Int64 = 4 << 20
    static let maxTotalBytes: Int64 = 16 << 20
    /// How far above its floor a release version may be. The coordinator numbers publishes one
    /// by one, so a real fleet never comes near; a bogus huge version (from a leaked signing key)
    /// would otherwise make every later release a rollback.
    static let maxVersionJump: Int64 = 1_000_000

    /// What a verified envelope asks of the node.
    enum Verdict {
        /// `version` equals the installed one: nothing to do.
        case installed(ReleaseManifest)
        /// A newer release that passed every check before download.
        case install(ReleaseManifest)
    }

    /// Check 1: the envelope and payload parse and `type` is `release` (`bad_manifest`).
    static func parse(_ body: [UInt8]) throws(NodeError) -> (SignedEnvelope, ReleaseManifest) {
        do throws(NodeError) {
            let envelope = try SignedEnvelope(json: try JSONParser(maxBytes: maxEnvelopeBytes + 1).parse(body))
            return (envelope, try ReleaseManifest(payload: try envelope.payloadJSON()))
        } catch {
            throw .release(.badManifest, Text.join("release manifest: ", error.message))
        }
    }

    /// Checks 2–6 for an envelope that parsed: signature by a current signing key, target (this
    /// node's group or id), version against the floor, expiry (`now` in Unix seconds), paths,
    /// sizes (`envelopeSize` is the body's length). `floor` is the installed version unless a
    /// root document reset it.
    static func verify(_ envelope: SignedEnvelope, _ manifest: ReleaseManifest, signingKeys: [[UInt8]], target: ReleaseTarget,
                       installedVersion: Int64, floor: Int64, now: Int64, envelopeSize: Int) throws(NodeError) -> Verdict {
        var signed = false
        for key in signingKeys where envelope.isSigned(by: key) {
            signed = true
            break
        }
        guard signed else {
            throw .release(.badSignature, "no valid signature by a trusted signing key")
        }
        guard manifest.isFor(target) else {
            throw .release(.wrongTarget, Text.join("release for group ", manifest.group, " is not for this node (group ", target.group, ")"))
        }
        if manifest.version == installedVersion, floor == installedVersion { return .installed(manifest) }
        guard manifest.version > floor else {
            throw .release(.rollbackRefused, Text.join("release ", Text.number(manifest.version), " is older than installed release ", Text.number(floor)))
        }
        guard manifest.version - floor <= maxVersionJump else {
            throw .release(.versionOutOfRange, Text.join(Text.join("release ", Text.number(manifest.version), " is more than "),
                                                         Text.number(maxVersionJump), " versions above ", Text.number(floor)))
        }
        guard manifest.expiresAt + expirySlackSeconds > now else {
            throw .release(.expired, Text.join("release expired at unix time ", Text.number(manifest.expiresAt)))
        }
        try checkPaths(manifest.files)
        guard envelopeSize <= maxEnvelopeBytes, manifest.files.count <= maxFiles else {
            throw .release(.tooLarge, "manifest over 1 MiB or 1000 files")
        }
        var total: Int64 = 0
        for file in manifest.files {
            guard file.size <= maxFileBytes else { throw .release(.tooLarge, Text.join(file.path, " is over 4 MiB")) }
            total += file.size
        }
        guard total <= maxTotalBytes else { throw .release(.tooLarge, "release files total over 16 MiB") }
        try checkCollisions(manifest.files)
        return .install(manifest)
    }

    /// Check 5 (`unsafe_path`): every path safe, type `file`, mode 0644 or 0755.
    static func checkPaths(_ files: [ReleaseManifest.File]) throws(NodeError) {
        for file in files {
            guard ReleasePath.isSafe(file.path) else { throw .release(.unsafePath, Text.join("unsafe path ", file.path)) }
            guard SystemText.same(file.type, "file") else {
                throw .release(.unsafePath, Text.join(file.path, " has type ", file.type, "; only file is allowed"))
            }
            guard file.mode == 0o644 || file.mode == 0o755 else {
                throw .release(.unsafePath, Text.join(file.path, " has a mode other than 0644 or 0755"))
            }
        }
    }

    /// Also `unsafe_path`, run once the file count is known to be bounded (it is quadratic): no
    /// path repeated, none used both as a file and as a directory.
    static func checkCollisions(_ files: [ReleaseManifest.File]) throws(NodeError) {
        let paths = files.map { Array($0.path.utf8) }
        for index in paths.indices {
            for earlier in 0..<index where paths[earlier] == paths[index]
                || isDirectoryPrefix(paths[earlier], of: paths[index]) || isDirectoryPrefix(paths[index], of: paths[earlier]) {
                throw .release(.unsafePath, Text.join("path used twice or as file and directory: ", files[index].path))
            }
        }
    }

    /// True when `prefix` + `/` starts `path`.
    static func isDirectoryPrefix(_ prefix: [UInt8], of path: [UInt8]) -> Bool {
        path.count > prefix.count && path[prefix.count] == UInt8(ascii: "/") && path.starts(with: prefix)
    }
}

/// Who a release must be for: this node's id and the group it enrolled into.
struct ReleaseTarget {
    var nodeID: String
    var group: String
}
