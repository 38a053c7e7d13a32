import Foundation
import Testing
@testable import FlotillaNode

/// Applying releases into a workspace: byte-for-byte skills, config merge, unchanged skills left
/// alone, health-check rollback, crash recovery, symlinks never followed.
@Suite("Applying releases")
struct ReleaseApplyTests {
    static let now = RFC3339.unixSeconds("2026-12-01T00:00:00Z")!
    let root = TestKey(1)
    let signing = TestKey(2)
    var trust: [JSONValue] { [Envelopes.root(version: 1, rootKey: root, signingKeys: [signing], signers: [root])] }

    static let healthV1 = TestFile("skills/node-health/SKILL.md", "---\nname: node-health\ndescription: Board health.\n---\n")
    static let healthScript = TestFile("skills/node-health/scripts/report.sh", "#!/bin/sh\nuptime\n", mode: 0o755)
    static let etiquetteV1 = TestFile("skills/fleet-etiquette/SKILL.md", "---\nname: fleet-etiquette\ndescription: Be nice.\n---\n")

    static func json(_ text: String) -> JSONValue { try! JSONParser().parse(Array(text.utf8)) }

    static var release1: TestRelease {
        TestRelease(version: 1, files: [healthV1, healthScript, etiquetteV1],
                    runtimeConfig: json(#"{"agents":{"defaults":{"model_name":"fleet-model","max_tokens":512}},"model_list":[{"model_name":"fleet-model","provider":"openai"}]}"#))
    }

    /// Evaluates `release` (served by `source`) and returns the result.
    func apply<R: RuntimeAdapter>(_ release: TestRelease, _ updater: inout ReleaseUpdater<R>, _ source: FakeSource) -> ReleaseResult {
        source.serve(release)
        return updater.evaluate(release.envelope(signedBy: [signing]), from: source, now: Self.now)
    }

    func inode(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
    }

    @Test func firstApplyWritesSkillsByteForByteAndMergesConfig() throws {
        let node = try TestNode()
        try node.write("home/config.json", #"{"version": 3, "gateway": {"port": 18790}, "agents": {"defaults": {"workspace": "/home/pi/ws", "max_tokens": 100}}}"#, mode: 0o640)
        try node.write("home/workspace/skills/mine/SKILL.md", "mine\n")
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)

        let result = apply(Self.release1, &updater, source)

        #expect(result.status == .applied, "\(String(describing: result.error))")
        #expect(result.settled)
        for file in Self.release1.files {
            let path = node.workspace + "/" + file.path
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == file.content, "\(file.path)")
            #expect(try FileIO.mode(of: path) == mode_t(file.mode), "\(file.path)")
        }
        #expect(try node.read("home/workspace/skills/mine/SKILL.md") == "mine\n")
        #expect(try FileIO.mode(of: node.workspace + "/skills/node-health/scripts") == 0o755)
        #expect(try FileManager.default.contentsOfDirectory(atPath: node.workspace + "/skills").sorted() == ["fleet-etiquette", "mine", "node-health"])
        let config = try JSONParser().parse(Array(try node.read("home/config.json").utf8))
        #expect(String(decoding: JSONWriter.encode(config), as: UTF8.self)
                == #"{"version":3,"gateway":{"port":18790},"agents":{"defaults":{"workspace":"/home/pi/ws","max_tokens":512,"model_name":"fleet-model"}},"model_list":[{"model_name":"fleet-model","provider":"openai"}]}"#)
        #expect(try FileIO.mode(of: node.configPath) == 0o640, "the config keeps its mode")
        #expect(source.reports.map(\.status) == ["downloading", "applied"])
        #expect(source.lastReport?.health == "skipped", "PicoClaw is not running here")
        let store = ReleaseStore(directory: node.state)
        #expect(try store.installedVersion() == 1)
        #expect(!FileIO.exists(store.applyPath) && !FileIO.exists(store.snapshotPath))
        #expect(FileIO.exists(store.releaseDirectory(1) + "/manifest.json"))
    }

    @Test func aBoardConfigOfAnotherFormatIsRefusedAndNothingChanges() throws {
        let node = try TestNode()
        // A version-0 file: PicoClaw would migrate and rewrite it rather than load a merge into it.
        let original = #"{"providers": {"openai": {"api_base": "http://x"}}, "agents": {"defaults": {"model": "gpt-4o"}}}"#
        try node.write("home/config.json", original)
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        let release = TestRelease(version: 1, files: [Self.healthV1], runtimeConfig: Self.json(#"{"version":3,"heartbeat":{"enabled":true}}"#))
        let result = apply(release, &updater, source)
        #expect(result.status == .failed)
        #expect(result.settled, "a verdict on this release, not a retry")
        #expect(source.lastReport?.errorCode == "config_refused")
        #expect(source.lastReport?.message.contains("is not a version-3 config") == true)
        #expect(try node.read("home/config.json") == original)
        #expect(!FileIO.exists(node.workspace + "/skills/node-health"))
    }

    @Test func aSkillsOnlyReleaseDoesNotReloadPicoClaw() throws {
        let node = try TestNode()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        #expect(apply(Self.release1, &updater, source).status == .applied)
        let changed = TestFile("skills/node-health/SKILL.md", "---\nname: node-health\ndescription: Board health, v2.\n---\n")
        let release2 = TestRelease(version: 2, files: [changed, Self.healthScript, Self.etiquetteV1], runtimeConfig: Self.release1.runtimeConfig)
        #expect(apply(release2, &updater, source).status == .applied)
        #expect(source.lastReport?.health == "skipped")
        #expect(source.lastReport?.message == "only skills changed; the runtime reads them on every turn")
        #expect(try node.read("home/workspace/skills/node-health/SKILL.md") == String(decoding: changed.content, as: UTF8.self))
    }

    @Test func missingConfigIsCreatedWithTheReleaseKeysOnly() throws {
        let node = try TestNode()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        #expect(apply(Self.release1, &updater, source).status == .applied)
        #expect(try FileIO.mode(of: node.configPath) == 0o600)
        let config = try JSONParser().parse(Array(try node.read("home/config.json").utf8))
        #expect(JSONWriter.encode(config) == JSONWriter.encode(Self.release1.runtimeConfig))
    }

    @Test func secondApplyChangesOnlyTheChangedSkillAndDropsStaleKeys() throws {
        let node = try TestNode()
        try node.write("home/config.json", #"{"user": {"keep": true}}"#)
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        #expect(apply(Self.release1, &updater, source).status == .applied)
        let healthInode = try inode(node.workspace + "/skills/node-health/SKILL.md")
        let etiquetteInode = try inode(node.workspace + "/skills/fleet-etiquette/SKILL.md")

        var release2 = Self.release1
        release2.version = 2
        release2.files[2] = TestFile("skills/fleet-etiquette/SKILL.md", "---\nname: fleet-etiquette\ndescription: Be nicer.\n---\n")
        release2.runtimeConfig = Self.json(#"{"agents":{"defaults":{"model_name":"fleet-model-2"}}}"#)
        let result = apply(release2, &updater, source)

        #expect(result.status == .applied, "\(String(describing: result.error))")
        #expect(try inode(node.workspace + "/skills/node-health/SKILL.md") == healthInode, "unchanged skill not rewritten")
        #expect(try inode(node.workspace + "/skills/fleet-etiquette/SKILL.md") != etiquetteInode)
        #expect(try node.read("home/workspace/skills/fleet-etiquette/SKILL.md").contains("Be nicer."))
        let config = try JSONParser().parse(Array(try node.read("home/config.json").utf8))
        #expect(String(decoding: JSONWriter.encode(config), as: UTF8.self)
                == #"{"user":{"keep":true},"agents":{"defaults":{"model_name":"fleet-model-2"}}}"#)

        // Release 3 drops a skill: it disappears; release dirs keep only the installed and previous.
        var release3 = release2
        release3.version = 3
        release3.files.removeLast()
        #expect(apply(release3, &updater, source).status == .applied)
        #expect(!node.exists("home/workspace/skills/fleet-etiquette"))
        #expect(node.exists("home/workspace/skills/node-health/scripts/report.sh"))
        let releases = try FileManager.default.contentsOfDirectory(atPath: node.state + "/releases").sorted()
        #expect(releases == ["2", "3"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: node.workspace + "/skills").sorted() == ["node-health"])
    }

    @Test func failedHealthCheckRestoresThePreviousReleaseByteForByte() throws {
        let node = try TestNode()
        let flag = node.root + "/healthy"
        _ = FileManager.default.createFile(atPath: flag, contents: Data())
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.command(health: "test -f '\(flag)'"), pinned: root)
        #expect(apply(Self.release1, &updater, source).status == .applied)
        #expect(source.lastReport?.health == "passed")
        #expect(node.exists("home/workspace/flotilla-config.json"))
        let good = try node.image()

        try FileManager.default.removeItem(atPath: flag)
        var release2 = Self.release1
        release2.version = 2
        release2.files[0] = TestFile("skills/node-health/SKILL.md", "broken\n")
        release2.files.append(TestFile("skills/new-skill/SKILL.md", "new\n"))
        release2.runtimeConfig = Self.json(#"{"other":1}"#)
        let result = apply(release2, &updater, source)

        #expect(result.status == .rolledBack)
        #expect(result.error?.code == "health_check_failed")
        #expect(result.settled)
        #expect(try node.image() == good)
        #expect(source.lastReport?.status == "rolled_back")
        #expect(source.lastReport?.errorCode == "health_check_failed")
        #expect(source.lastReport?.health == "failed")
        let store = ReleaseStore(directory: node.state)
        #expect(try store.installedVersion() == 1)
        #expect(!FileIO.exists(store.applyPath) && !FileIO.exists(store.snapshotPath))

        // With `false` as the health command, the first release also rolls back to "nothing".
        let fresh = try TestNode()
        try fresh.write("home/config.json", "{}")
        let empty = try TreeImage.of(fresh.home)
        var failing = try fresh.updater(fresh.command(health: "false"), pinned: root)
        let first = apply(Self.release1, &failing, FakeSource(roots: trust))
        #expect(first.status == .rolledBack)
        #expect(try TreeImage.of(fresh.home) == empty)
    }

    @Test func crashBeforeTheHealthCheckIsRepairedAtStart() throws {
        let node = try TestNode()
        try node.write("home/config.json", #"{"user": 1}"#)
        try node.write("home/workspace/skills/node-health/SKILL.md", "user's copy\n")
        let before = try node.image()
        let source = FakeSource(roots: trust)
        let crashImage = node.root + ".crash"
        var updater = try node.updater(CrashImageRuntime(workspace: node.workspace, home: node.home, root: node.root, image: crashImage),
                                       pinned: root)
        let body = Self.release1.envelope(signedBy: [signing])
        source.serve(Self.release1)
        #expect(updater.evaluate(body, from: source, now: Self.now).status == .applied)

        // Power lost at the health check: the disk is as the image shows it.
        try FileManager.default.removeItem(atPath: node.root)
        try FileManager.default.moveItem(atPath: crashImage, toPath: node.root)
        let store = ReleaseStore(directory: node.state)
        #expect(FileIO.exists(store.applyPath) && FileIO.exists(store.snapshotPath))
        #expect(try node.image() != before)

        let restarted = try node.updater(node.picoclaw, pinned: root)
        #expect(try restarted.applier.recover())
        #expect(try node.image() == before)
        #expect(!FileIO.exists(store.applyPath) && !FileIO.exists(store.snapshotPath))
        #expect(store.seen() == String(repeating: "0", count: 64), "seen forgotten: the release is offered again")
        #expect(try !restarted.applier.recover())

        // ...and the retry applies it.
        var retry = restarted
        #expect(retry.evaluate(body, from: source, now: Self.now).status == .applied)
        #expect(try node.read("home/workspace/skills/node-health/SKILL.md") == String(decoding: Self.healthV1.content, as: UTF8.self))
    }

    @Test func crashAfterRecordingTheVersionOnlyCleansUp() throws {
        let node = try TestNode()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        #expect(apply(Self.release1, &updater, source).status == .applied)
        let applied = try node.image()
        let store = ReleaseStore(directory: node.state)
        try FileIO.writeAtomically(store.applyPath, Array(#"{"from":0,"to":1}"#.utf8), mode: 0o600)
        try FileManager.default.createDirectory(atPath: store.snapshotPath + "/skills", withIntermediateDirectories: true)
        #expect(try updater.applier.recover())
        #expect(try node.image() == applied)
        #expect(!FileIO.exists(store.applyPath) && !FileIO.exists(store.snapshotPath))
    }

    @Test func symlinksInManagedSkillsAreNeverFollowed() throws {
        let node = try TestNode()
        let outside = node.root + "/outside"
        try node.write("outside/precious.txt", "do not touch\n")
        try FileManager.default.createSymbolicLink(atPath: node.workspace + "/skills/node-health", withDestinationPath: outside)
        try node.write("home/workspace/skills/fleet-etiquette/SKILL.md", "old\n")
        try FileManager.default.createSymbolicLink(atPath: node.workspace + "/skills/fleet-etiquette/escape", withDestinationPath: outside)
        let before = try node.image()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.command(health: "false"), pinned: root)

        #expect(apply(Self.release1, &updater, source).status == .rolledBack)
        #expect(try node.image() == before, "links restored as links")
        #expect(try node.read("outside/precious.txt") == "do not touch\n")

        var passing = try node.updater(node.command(), pinned: root)
        var release2 = Self.release1
        release2.version = 2
        #expect(apply(release2, &passing, source).status == .applied)
        #expect(try node.read("outside/precious.txt") == "do not touch\n")
        let kind = try FileIO.info(node.workspace + "/skills/node-health").kind
        #expect(kind == .directory, "the link was replaced, not written through")
    }

    @Test func aSymlinkedSkillsDirectoryIsRefusedBeforeAnythingChanges() throws {
        let node = try TestNode()
        try FileManager.default.removeItem(atPath: node.workspace + "/skills")
        try node.write("elsewhere/keep.txt", "x")
        try FileManager.default.createSymbolicLink(atPath: node.workspace + "/skills", withDestinationPath: node.root + "/elsewhere")
        let before = try node.image()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        let result = apply(Self.release1, &updater, source)
        #expect(result.status == .failed && !result.settled)
        #expect(source.lastReport?.errorCode == "apply_failed")
        #expect(try node.image() == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: node.root + "/elsewhere") == ["keep.txt"])
    }

    @Test func interruptedDownloadResumesWithoutRefetchingVerifiedFiles() throws {
        let node = try TestNode()
        let source = FakeSource(roots: trust)
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.release1)
        source.blobs.removeValue(forKey: Self.etiquetteV1.sha256)
        let body = Self.release1.envelope(signedBy: [signing])
        let first = updater.evaluate(body, from: source, now: Self.now)
        #expect(first.status == .failed && !first.settled)
        #expect(source.lastReport?.errorCode == "download_failed")
        let fetched = source.blobFetches
        source.serve(Self.release1)
        #expect(updater.evaluate(body, from: source, now: Self.now).status == .applied)
        #expect(source.blobFetches == fetched + 1, "only the missing file is fetched again")
    }
}

/// A runtime that copies the whole test directory when asked to reload — the disk as a power
/// cut between the config write and the health check would leave it — and then passes.
struct CrashImageRuntime: RuntimeAdapter {
    var workspace: String
    var home: String
    var root: String
    var image: String
    var configPath: String { home + "/config.json" }
    var mergesConfig: Bool { true }

    func reloadAndCheck() -> HealthCheck {
        _ = try? TestSupport.run(["cp", "-a", root, image])
        return .passed
    }
}
