import CFlotillaCrypto
import Foundation
import Testing
@testable import FlotillaNode

/// An Ed25519 key for tests, from a fixed 32-byte seed (signing goes through the test-only
/// helpers in CFlotillaCrypto.h; the agent itself never signs).
struct TestKey {
    let seed: [UInt8]
    let publicKey: [UInt8]

    init(seed: [UInt8]) {
        precondition(seed.count == 32)
        self.seed = seed
        var key = [UInt8](repeating: 0, count: 32)
        precondition(flotilla_test_ed25519_public_key(seed, &key) == 1)
        publicKey = key
    }

    /// A key whose seed is `byte` repeated.
    init(_ byte: UInt8) {
        self.init(seed: [UInt8](repeating: byte, count: 32))
    }

    /// A key from one of the TEST-ONLY PEM files in Tests/Fixtures/keys (the seed is the last 32
    /// bytes of the PKCS#8 DER).
    init(pemFile name: String) throws {
        let text = try String(contentsOf: TestSupport.keysDirectory.appendingPathComponent(name), encoding: .utf8)
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = try #require(Data(base64Encoded: body))
        self.init(seed: Array(der.suffix(32)))
    }

    var base64: String { Data(publicKey).base64EncodedString() }
    var keyID: String { Hex.lowercase(try! SHA256.digest(publicKey)) }

    func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        precondition(flotilla_test_ed25519_sign(seed, message, message.count, &signature) == 1)
        return signature
    }
}

/// Builders for envelopes, root documents and manifests.
enum Envelopes {
    /// `{"signed": ..., "signatures": [...]}` over `payload`, one signature per key.
    static func make(_ payload: [UInt8], signers: [TestKey]) -> JSONValue {
        .object([
            JSONMember("signed", .string(Data(payload).base64EncodedString())),
            JSONMember("signatures", .array(signers.map { key in
                .object([JSONMember("key_id", .string(key.keyID)),
                         JSONMember("signature", .string(Data(key.sign(payload)).base64EncodedString()))])
            })),
        ])
    }

    static func root(version: Int64, rootKey: TestKey, signingKeys: [TestKey], signers: [TestKey], resetsFloor: Bool = false) -> JSONValue {
        var members = [
            JSONMember("type", .string("root")),
            JSONMember("version", .int(version)),
            JSONMember("created_at", .string("2026-11-24T10:00:00Z")),
            JSONMember("root_key", .string(rootKey.base64)),
            JSONMember("signing_keys", .array(signingKeys.map { .string($0.base64) })),
        ]
        if resetsFloor { members.append(JSONMember("release_floor_reset", .bool(true))) }
        return make(JSONWriter.encode(.object(members)), signers: signers)
    }

    /// `{"roots": [...]}`.
    static func trust(_ roots: [JSONValue]) -> [UInt8] {
        JSONWriter.encode(.object([JSONMember("roots", .array(roots))]))
    }
}

/// One file of a release under construction.
struct TestFile {
    var path: String
    var content: [UInt8]
    var mode: Int64 = 0o644
    var type = "file"
    /// Overrides the announced size (for too_large cases).
    var size: Int64?

    init(_ path: String, _ content: String, mode: Int64 = 0o644) {
        self.path = path
        self.content = Array(content.utf8)
        self.mode = mode
    }

    var sha256: String { Hex.lowercase(try! SHA256.digest(content)) }
}

/// A release manifest payload under construction.
struct TestRelease {
    var version: Int64
    var files: [TestFile]
    var runtimeConfig: JSONValue = .object([])
    var expiresAt = "2099-01-01T00:00:00Z"
    var type = "release"
    var group = "demo"
    var memberNodeIDs: [String]?
    var localModelHealthURL: String?

    func payload() -> [UInt8] {
        JSONWriter.encode(.object([
            JSONMember("local_model_health_url", localModelHealthURL.map { .string($0) } ?? .null),
            JSONMember("type", .string(type)),
            JSONMember("version", .int(version)),
            JSONMember("group", .string(group)),
            JSONMember("member_node_ids", memberNodeIDs.map { .array($0.map { .string($0) }) } ?? .null),
            JSONMember("created_at", .string("2026-11-24T10:00:00Z")),
            JSONMember("expires_at", .string(expiresAt)),
            JSONMember("runtime_config", runtimeConfig),
            JSONMember("files", .array(files.map { file in
                .object([
                    JSONMember("path", .string(file.path)),
                    JSONMember("type", .string(file.type)),
                    JSONMember("size", .int(file.size ?? Int64(file.content.count))),
                    JSONMember("sha256", .string(file.sha256)),
                    JSONMember("mode", .int(file.mode)),
                ])
            })),
        ]))
    }

    /// The envelope body as the coordinator would serve it.
    func envelope(signedBy keys: [TestKey]) -> [UInt8] {
        JSONWriter.encode(Envelopes.make(payload(), signers: keys))
    }
}

/// A coordinator stand-in: serves trust documents and blobs, records reports.
final class FakeSource: ReleaseSource {
    var roots: [JSONValue]
    var blobs: [String: [UInt8]] = [:]
    var reports: [ReleaseReport] = []
    var trustFetches = 0
    var blobFetches = 0
    /// When set, blob downloads fail like a broken network.
    var offline = false

    init(roots: [JSONValue]) {
        self.roots = roots
    }

    /// Makes every file of `release` downloadable.
    func serve(_ release: TestRelease) {
        for file in release.files { blobs[file.sha256] = file.content }
    }

    func poll(seen: String, waitSeconds: Int) throws(NodeError) -> [UInt8]? { nil }

    func trust() throws(NodeError) -> [UInt8] {
        trustFetches += 1
        if offline { throw .network(curlCode: 7, message: "offline") }
        return Envelopes.trust(roots)
    }

    func blob(sha256: String, maxBytes: Int) throws(NodeError) -> [UInt8] {
        blobFetches += 1
        if offline { throw .network(curlCode: 7, message: "offline") }
        guard let bytes = blobs[sha256] else { throw .unexpectedStatus(404) }
        guard bytes.count <= maxBytes else { throw .responseTooLarge(limit: maxBytes) }
        return bytes
    }

    func report(_ report: ReleaseReport) throws(NodeError) {
        reports.append(report)
    }

    var lastReport: ReleaseReport? { reports.last }
}

/// A scratch node: state dir, PicoClaw-style home with a workspace, runtime, updater.
struct TestNode {
    let root: String
    var state: String { root + "/state" }
    var home: String { root + "/home" }
    var workspace: String { root + "/home/workspace" }
    var configPath: String { home + "/config.json" }

    init() throws {
        root = try TestSupport.temporaryDirectory()
        for directory in [state, workspace + "/skills"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
    }

    /// The test node: id `n-test`, enrolled into group `demo` (the group of the test releases).
    static let target = ReleaseTarget(nodeID: "n-test", group: "demo")

    func updater<R: RuntimeAdapter>(_ runtime: R, pinned: TestKey, target: ReleaseTarget = TestNode.target) throws -> ReleaseUpdater<R> {
        try ReleaseUpdater(stateDirectory: state, rootPublicKey: pinned.publicKey, target: target, runtime: runtime)
    }

    var picoclaw: PicoClawRuntime { PicoClawRuntime(home: home, workspace: workspace) }

    func command(health: String? = nil, reload: String? = nil) -> CommandRuntime {
        CommandRuntime(workspace: workspace, reloadCommand: reload, healthCommand: health)
    }

    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: root + "/" + relative)
    }

    /// Every entry under `home` (workspace and config.json): type, mode and bytes, for
    /// "nothing changed" comparisons.
    func image() throws -> [String: String] {
        try TreeImage.of(home)
    }
}

/// A comparable picture of a directory tree (symlinks not followed).
enum TreeImage {
    static func of(_ directory: String) throws -> [String: String] {
        var image: [String: String] = [:]
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: directory) else { return image }
        for case let relative as String in enumerator {
            let path = directory + "/" + relative
            let attributes = try manager.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            let mode = (attributes[.posixPermissions] as? Int) ?? -1
            var value = "\(type?.rawValue ?? "?") \(String(mode, radix: 8))"
            if type == .typeRegular {
                value += " " + Data(try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
            } else if type == .typeSymbolicLink {
                value += " -> " + (try manager.destinationOfSymbolicLink(atPath: path))
            }
            image[relative] = value
        }
        return image
    }
}
