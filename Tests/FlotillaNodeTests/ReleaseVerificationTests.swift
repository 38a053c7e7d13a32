import Foundation
import Testing
@testable import FlotillaNode

/// Every way a release can be refused: the contract's error code, in the contract's order, and
/// nothing on disk touched (workspace and config.json byte-identical).
@Suite("Release verification and the trust chain")
struct ReleaseVerificationTests {
    static let now = RFC3339.unixSeconds("2026-12-01T00:00:00Z")!
    let root = TestKey(1)
    let signing = TestKey(2)

    var rootV1: JSONValue { Envelopes.root(version: 1, rootKey: root, signingKeys: [signing], signers: [root]) }

    static var healthy: TestRelease { TestRelease(version: 3, files: [TestFile("skills/node-health/SKILL.md", "---\nname: node-health\n---\n")],
                                     runtimeConfig: .object([JSONMember("agents", .object([JSONMember("x", .int(1))]))])) }

    enum Refusal: String, CaseIterable {
        case notJSON, rootTypePayload, missingFiles, tamperedPayload, unknownSigner, olderVersion, expired
        case dotDotPath, absolutePath, symlinkType, badMode, badSkillName, oversizedFile, tooManyBytes
        case tamperedFileBytes, blobTooLong, expiredAndUnsafe, badSignatureAndOlder
        case otherGroup, otherGroupsMembers, hugeVersion

        var code: String {
            switch self {
            case .notJSON, .rootTypePayload, .missingFiles: return "bad_manifest"
            case .tamperedPayload, .unknownSigner, .badSignatureAndOlder: return "bad_signature"
            case .olderVersion: return "rollback_refused"
            case .expired, .expiredAndUnsafe: return "expired"
            case .dotDotPath, .absolutePath, .symlinkType, .badMode, .badSkillName: return "unsafe_path"
            case .oversizedFile, .tooManyBytes: return "too_large"
            case .tamperedFileBytes, .blobTooLong: return "hash_mismatch"
            case .otherGroup, .otherGroupsMembers: return "wrong_target"
            case .hugeVersion: return "version_out_of_range"
            }
        }
    }

    /// The body served for `refusal`, after adjusting `source` where the case needs it.
    func body(for refusal: Refusal, source: FakeSource) -> [UInt8] {
        var release = Self.healthy
        var signers = [signing]
        switch refusal {
        case .notJSON: return Array("{\"signed\": ".utf8)
        case .rootTypePayload: release.type = "root"
        case .missingFiles:
            return JSONWriter.encode(Envelopes.make(Array(#"{"type":"release","version":3}"#.utf8), signers: [signing]))
        case .tamperedPayload:
            let signed = release.payload()
            let signature = signing.sign(signed)
            release.version = 4  // same payload with "version":4, under the version-3 signature
            let payload = release.payload()
            #expect(payload.count == signed.count && payload != signed)
            return JSONWriter.encode(.object([
                JSONMember("signed", .string(Data(payload).base64EncodedString())),
                JSONMember("signatures", .array([.object([JSONMember("key_id", .string(signing.keyID)),
                                                          JSONMember("signature", .string(Data(signature).base64EncodedString()))])])),
            ]))
        case .unknownSigner: signers = [TestKey(9)]
        case .otherGroup: release.group = "other"
        case .otherGroupsMembers:
            release.group = "other"
            release.memberNodeIDs = ["n-other", "n-test-2"]
        case .hugeVersion: release.version = Int64.max
        case .olderVersion: release.version = 1
        case .expired: release.expiresAt = "2026-11-30T23:54:59Z"
        case .dotDotPath: release.files.append(TestFile("skills/node-health/../../../etc/passwd", "x"))
        case .absolutePath: release.files.append(TestFile("/etc/passwd", "x"))
        case .symlinkType:
            var link = TestFile("skills/node-health/link", "/etc/passwd")
            link.type = "symlink"
            release.files.append(link)
        case .badMode: release.files.append(TestFile("skills/node-health/run.sh", "#!/bin/sh\n", mode: 0o777))
        case .badSkillName: release.files.append(TestFile("skills/node_health/SKILL.md", "x"))
        case .oversizedFile:
            var big = TestFile("skills/node-health/big.bin", "x")
            big.size = 4 * 1024 * 1024 + 1
            release.files.append(big)
        case .tooManyBytes:
            for index in 0..<5 {
                var big = TestFile("skills/node-health/big\(index).bin", "x")
                big.size = 4 * 1024 * 1024
                release.files.append(big)
            }
        case .tamperedFileBytes:
            source.serve(release)
            source.blobs[release.files[0].sha256] = Array("---\nname: evil-health\n---\n".utf8)
            return release.envelope(signedBy: signers)
        case .blobTooLong:
            source.serve(release)
            source.blobs[release.files[0].sha256]! += [0x0A]
            return release.envelope(signedBy: signers)
        case .expiredAndUnsafe:
            release.expiresAt = "2026-01-01T00:00:00Z"
            release.files.append(TestFile("/etc/passwd", "x"))
        case .badSignatureAndOlder:
            release.version = 1
            signers = [TestKey(9)]
        }
        source.serve(release)
        return release.envelope(signedBy: signers)
    }

    @Test(arguments: Refusal.allCases)
    func refusedWithCodeAndNothingTouched(_ refusal: Refusal) throws {
        let node = try TestNode()
        try node.write("home/config.json", "{\n  \"user\": true\n}\n", mode: 0o640)
        try node.write("home/workspace/skills/node-health/SKILL.md", "user's own copy\n")
        try node.write("home/workspace/skills/mine/SKILL.md", "mine\n")
        try ReleaseStore(directory: node.state).storeInstalledVersion(2)
        let before = try node.image()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        let body = body(for: refusal, source: source)

        let result = updater.evaluate(body, from: source, now: Self.now)

        #expect(result.status == .failed)
        #expect(result.error?.code == refusal.code, "\(String(describing: result.error))")
        #expect(result.settled)
        #expect(source.lastReport?.status == "failed")
        #expect(source.lastReport?.errorCode == refusal.code)
        #expect(source.lastReport?.health == nil)
        #expect(try node.image() == before)
        let store = ReleaseStore(directory: node.state)
        #expect(try store.installedVersion() == 2)
        #expect(store.seen() == (try SHA256.hex(body)))
        #expect(!FileIO.exists(store.applyPath) && !FileIO.exists(store.snapshotPath))
        if refusal.code != "hash_mismatch" { #expect(source.blobFetches == 0) }
        if ![.notJSON, .rootTypePayload, .missingFiles].contains(refusal) {
            #expect(source.trustFetches == 1, "the trust state is refreshed once before the envelope is judged")
        }
    }

    @Test func expirySlackIsFiveMinutes() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        var release = Self.healthy
        release.expiresAt = "2026-11-30T23:55:01Z"
        source.serve(release)
        let result = updater.evaluate(release.envelope(signedBy: [signing]), from: source, now: Self.now)
        #expect(result.status == .applied, "\(String(describing: result.error))")
    }

    @Test func sameVersionIsUpToDateAndReportedApplied() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.healthy)
        #expect(updater.evaluate(Self.healthy.envelope(signedBy: [signing]), from: source, now: Self.now).status == .applied)
        let image = try node.image()
        var resigned = Self.healthy
        resigned.expiresAt = "2099-06-01T00:00:00Z"
        let result = updater.evaluate(resigned.envelope(signedBy: [signing]), from: source, now: Self.now)
        #expect(result.status == .upToDate && result.settled)
        #expect(source.lastReport?.status == "applied" && source.lastReport?.version == 3 && source.lastReport?.errorCode == nil)
        #expect(try node.image() == image)
    }

    @Test func unreachableTrustIsRetriedNotRefused() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        source.offline = true
        var updater = try node.updater(node.picoclaw, pinned: root)
        let body = Self.healthy.envelope(signedBy: [signing])
        let result = updater.evaluate(body, from: source, now: Self.now)
        #expect(result.status == .failed && !result.settled)
        #expect(result.error?.code == "network_error")
        #expect(source.lastReport?.errorCode == "download_failed")
        #expect(ReleaseStore(directory: node.state).seen() != (try SHA256.hex(body)))
    }

    @Test func rootRotationIsFollowed() throws {
        let node = try TestNode()
        let root2 = TestKey(11), signing2 = TestKey(12)
        let v2 = Envelopes.root(version: 2, rootKey: root2, signingKeys: [signing2], signers: [root, root2])
        let source = FakeSource(roots: [rootV1, v2])
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.healthy)
        let result = updater.evaluate(Self.healthy.envelope(signedBy: [signing2]), from: source, now: Self.now)
        #expect(result.status == .applied, "\(String(describing: result.error))")
        #expect(updater.trust.version == 2)
        let stored = try #require(try ReleaseStore(directory: node.state).trustedRoot())
        #expect(stored.version == 2 && stored.rootKey == root2.publicKey)

        // The old signing key is no longer trusted, and the chain never goes back to v1.
        source.roots = [rootV1]
        var next = Self.healthy
        next.version = 4
        source.serve(next)
        let old = updater.evaluate(next.envelope(signedBy: [signing]), from: source, now: Self.now)
        #expect(old.error?.code == "bad_signature")
        #expect(updater.trust.version == 2)
        let reloaded = try node.updater(node.picoclaw, pinned: root)
        #expect(reloaded.trust.version == 2)
    }

    @Test func signingKeyRotationIsFollowed() throws {
        let node = try TestNode()
        let signing2 = TestKey(12)
        let v2 = Envelopes.root(version: 2, rootKey: root, signingKeys: [signing2], signers: [root])
        let source = FakeSource(roots: [rootV1, v2])
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.healthy)
        let result = updater.evaluate(Self.healthy.envelope(signedBy: [TestKey(30), signing2]), from: source, now: Self.now)
        #expect(result.status == .applied, "\(String(describing: result.error))")
        #expect(updater.trust.version == 2)
    }

    /// After `keys rotate-signing`, the very next envelope signed by the dropped key is refused,
    /// though the node had never seen a release signed by the new key.
    @Test func aRotatedOutSigningKeyIsRefusedAtOnce() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.healthy)
        #expect(updater.evaluate(Self.healthy.envelope(signedBy: [signing]), from: source, now: Self.now).status == .applied)
        let image = try node.image()

        source.roots = [rootV1, Envelopes.root(version: 2, rootKey: root, signingKeys: [TestKey(12)], signers: [root])]
        var next = Self.healthy
        next.version = 4
        next.files = [TestFile("skills/node-health/SKILL.md", "signed by the key the fleet dropped\n")]
        source.serve(next)
        let result = updater.evaluate(next.envelope(signedBy: [signing]), from: source, now: Self.now)
        #expect(result.error?.code == "bad_signature")
        #expect(updater.trust.version == 2)
        #expect(try node.image() == image)
        #expect(try ReleaseStore(directory: node.state).installedVersion() == 3)
    }

    /// A release meant for another group applies only on the nodes its `member_node_ids` lists.
    @Test func anotherGroupsReleaseAppliesOnlyOnItsListedMembers() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var release = Self.healthy
        release.group = "other"
        release.memberNodeIDs = ["n-9", TestNode.target.nodeID]
        source.serve(release)
        var updater = try node.updater(node.picoclaw, pinned: root)
        let result = updater.evaluate(release.envelope(signedBy: [signing]), from: source, now: Self.now)
        #expect(result.status == .applied, "\(String(describing: result.error))")
    }

    /// A node frozen by a validly signed bogus version (all later releases `rollback_refused`)
    /// recovers through a root document with `release_floor_reset`: the fleet's current release,
    /// signed by the new key, applies over the bogus one; the bogus envelope stays refused and the
    /// floor holds again from there.
    @Test func aFloorResetRecoversANodeFrozenByABogusVersion() throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        var bogus = Self.healthy
        bogus.version = 900_000
        bogus.files = [TestFile("skills/planted/SKILL.md", "planted\n")]
        source.serve(bogus)
        let bogusBody = bogus.envelope(signedBy: [signing])
        #expect(updater.evaluate(bogusBody, from: source, now: Self.now).status == .applied)

        let current = Self.healthy  // version 3, the fleet's real release
        source.serve(current)
        #expect(updater.evaluate(current.envelope(signedBy: [signing]), from: source, now: Self.now).error?.code == "rollback_refused")

        let signing2 = TestKey(12)
        source.roots = [rootV1, Envelopes.root(version: 2, rootKey: root, signingKeys: [signing2], signers: [root], resetsFloor: true)]
        let recovered = updater.evaluate(current.envelope(signedBy: [signing2]), from: source, now: Self.now)
        #expect(recovered.status == .applied, "\(String(describing: recovered.error))")
        let store = ReleaseStore(directory: node.state)
        let installed = try store.installed()
        #expect(installed.version == 3 && installed.floor == 3)
        #expect(FileManager.default.fileExists(atPath: node.workspace + "/skills/node-health/SKILL.md"))
        #expect(!FileManager.default.fileExists(atPath: node.workspace + "/skills/planted"), "the bogus release's skill is removed")

        #expect(updater.evaluate(bogusBody, from: source, now: Self.now).error?.code == "bad_signature")
        var older = current
        older.version = 2
        #expect(updater.evaluate(older.envelope(signedBy: [signing2]), from: source, now: Self.now).error?.code == "rollback_refused")
        // The reset happens once: walking the same chain again leaves the floor alone.
        let reloaded = try node.updater(node.picoclaw, pinned: root)
        try reloaded.refreshTrust(from: source)
        #expect(try store.installed().floor == 3)
    }

    /// A floor reset whose writes fail (the floor's, or the new root's after it) is not lost: the
    /// walk is undone and the next refresh resets the floor and stores the document.
    @Test(arguments: ["release.json", "trusted-root.json"])
    func aFloorResetThatCannotBeWrittenIsRedoneOnTheNextRefresh(failing file: String) throws {
        let node = try TestNode()
        let source = FakeSource(roots: [rootV1])
        var updater = try node.updater(node.picoclaw, pinned: root)
        source.serve(Self.healthy)
        #expect(updater.evaluate(Self.healthy.envelope(signedBy: [signing]), from: source, now: Self.now).status == .applied)
        let store = ReleaseStore(directory: node.state)
        #expect(try store.installed().floor == 3)

        source.roots = [rootV1, Envelopes.root(version: 2, rootKey: root, signingKeys: [TestKey(12)], signers: [root], resetsFloor: true)]
        // A directory where the atomic write's temporary file goes: the write fails, even as root.
        let blocked = node.state + "/" + file + ".tmp"
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: false)
        #expect(throws: NodeError.self) { try updater.refreshTrust(from: source) }
        #expect(updater.trust.version == 1, "the walk is undone with its writes")
        #expect(try store.installed().floor == (file == "release.json" ? 3 : 0))
        #expect(try store.trustedRoot()?.version == 1)

        try FileManager.default.removeItem(atPath: blocked)
        try updater.refreshTrust(from: source)
        #expect(updater.trust.version == 2)
        #expect(try store.installed().floor == 0)
        #expect(try store.trustedRoot()?.version == 2)
    }

    @Test func rootDocumentNotSignedByThePreviousRootIsRefused() throws {
        let node = try TestNode()
        let root2 = TestKey(11), signing2 = TestKey(12)
        let forged = Envelopes.root(version: 2, rootKey: root2, signingKeys: [signing2], signers: [root2])
        let source = FakeSource(roots: [rootV1, forged])
        var updater = try node.updater(node.picoclaw, pinned: root)
        let image = try node.image()
        source.serve(Self.healthy)
        let result = updater.evaluate(Self.healthy.envelope(signedBy: [signing2]), from: source, now: Self.now)
        #expect(result.error?.code == "bad_signature")
        #expect(updater.trust.version == 1)
        #expect(try node.image() == image)
    }

    @Test func chainRules() throws {
        let root2 = TestKey(11), signing2 = TestKey(12)
        func document(_ json: JSONValue) throws -> RootDocument { try RootDocument(envelope: try SignedEnvelope(json: json)) }
        var chain = TrustChain(pinnedRootKey: root.publicKey)
        var advanced = false
        // v1 must carry the pinned key: a v1 for another root signed by itself is not trusted.
        #expect(!chain.accepts(try document(Envelopes.root(version: 1, rootKey: root2, signingKeys: [signing2], signers: [root2]))))
        // v2 cannot come before v1; gaps stop the walk.
        let v2 = Envelopes.root(version: 2, rootKey: root2, signingKeys: [signing2], signers: [root, root2])
        let v4 = Envelopes.root(version: 4, rootKey: root2, signingKeys: [signing2], signers: [root2])
        advanced = chain.advance([v2, v4])
        #expect(!advanced)
        advanced = chain.advance([v4, v2, rootV1, JSONValue.string("junk")])
        #expect(advanced)
        #expect(chain.version == 2)
        // Root rotation needs the new root's own signature too.
        let root3 = TestKey(13)
        advanced = chain.advance([Envelopes.root(version: 3, rootKey: root3, signingKeys: [], signers: [root2])])
        #expect(!advanced)
        advanced = chain.advance([Envelopes.root(version: 3, rootKey: root3, signingKeys: [], signers: [root3, root2])])
        #expect(advanced)
        #expect(chain.version == 3 && chain.signingKeys.isEmpty)
    }
}
