/// The release part of the state directory:
/// - `trusted-root.json`: newest trusted root envelope
/// - `release.json`: `{"version": N}`, the installed release; `{"version": N, "floor": 0}` after
///   a root document reset the release floor (until the next apply)
/// - `release-seen`: hex SHA-256 of the last envelope evaluated (the long poll's `seen`)
/// - `releases/<version>/manifest.json` and `releases/<version>/files/...`: verified releases
///   (the installed one and the one before it)
/// - `apply.json` and `snapshot/`: an apply in progress (see `ReleaseApplier`)
final class ReleaseStore {
    var directory: String

    /// The release files of the state directory `directory`.
    init(directory: String) {
        self.directory = directory
    }

    var trustedRootPath: String { Text.path(directory, "trusted-root.json") }
    var installedPath: String { Text.path(directory, "release.json") }
    var seenPath: String { Text.path(directory, "release-seen") }
    var applyPath: String { Text.path(directory, "apply.json") }
    var snapshotPath: String { Text.path(directory, "snapshot") }
    var releasesPath: String { Text.path(directory, "releases") }

    /// `releases/<version>`.
    func releaseDirectory(_ version: Int64) -> String {
        Text.path(releasesPath, Text.number(version))
    }

    /// The installed release version (0 when none was ever applied) and the floor a new release
    /// must exceed: the installed version, unless a root document reset it since.
    func installed() throws(NodeError) -> (version: Int64, floor: Int64) {
        guard FileIO.exists(installedPath) else { return (0, 0) }
        let json = try JSONParser(maxBytes: 4096).parse(try FileIO.read(installedPath, maxBytes: 4096))
        let version = try json.requiredInt("version")
        return (version, json["floor"]?.intValue ?? version)
    }

    /// The installed release version (0 when none was ever applied).
    func installedVersion() throws(NodeError) -> Int64 {
        try installed().version
    }

    /// Forgets the floor (the installed version stays known, for the next apply's diff).
    func resetReleaseFloor() throws(NodeError) {
        let installed = try installedVersion()
        try FileIO.writeAtomically(installedPath, JSONWriter.encode(.object([JSONMember("version", .int(installed)),
                                                                             JSONMember("floor", .int(0))])), mode: 0o600)
    }

    /// Records `version` as installed (and as the floor).
    func storeInstalledVersion(_ version: Int64) throws(NodeError) {
        try FileIO.writeAtomically(installedPath, JSONWriter.encode(.object([JSONMember("version", .int(version))])), mode: 0o600)
    }

    /// The manifest of an installed or previous release, as verified when it was downloaded.
    func manifest(_ version: Int64) throws(NodeError) -> ReleaseManifest {
        let body = try FileIO.read(Text.path(releaseDirectory(version), "manifest.json"), maxBytes: ReleaseCheck.maxEnvelopeBytes)
        return try ReleaseCheck.parse(body).1
    }

    /// The stored `seen` digest, or 64 zeros (matches no envelope) when there is none.
    func seen() -> String {
        if let bytes = try? FileIO.read(seenPath, maxBytes: 64) {
            let text = SystemText.string(bytes)
            if Hex.isLowercase(text, count: 64) { return text }
        }
        return "0000000000000000000000000000000000000000000000000000000000000000"
    }

    /// Persists `seen` so a restart does not evaluate the same envelope again.
    func storeSeen(_ hex: String) throws(NodeError) {
        try FileIO.writeAtomically(seenPath, Array(hex.utf8), mode: 0o600)
    }

    /// Forgets `seen`, so the coordinator serves the current envelope again.
    func forgetSeen() {
        FileIO.remove(seenPath)
    }

    /// The stored trusted root document, if any.
    func trustedRoot() throws(NodeError) -> RootDocument? {
        guard FileIO.exists(trustedRootPath) else { return nil }
        return try RootDocument(envelope: try SignedEnvelope(json: try JSONParser().parse(try FileIO.read(trustedRootPath))))
    }

    /// Stores `document`'s envelope as the newest trusted root.
    func storeTrustedRoot(_ document: RootDocument) throws(NodeError) {
        try FileIO.writeAtomically(trustedRootPath, JSONWriter.encode(document.envelope.json), mode: 0o600)
    }
}
