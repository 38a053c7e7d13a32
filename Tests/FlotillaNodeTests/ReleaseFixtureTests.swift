import Foundation
import Testing
@testable import FlotillaNode

/// The shared signed-release fixtures (Tests/Fixtures/wire/root-*.json, release-v1.json; see
/// release-fixture.md) parse and verify here exactly as the coordinator's tests expect.
@Suite("Shared signed-release fixtures")
struct ReleaseFixtureTests {
    static let skill = """
        ---
        name: node-health
        description: Report this board's uptime, disk and memory when asked about device health.
        ---
        # Node Health
        Run `uptime`, `df -h /` and `free -m` with the exec tool and summarise.

        """

    func envelope(_ name: String) throws -> SignedEnvelope {
        try SignedEnvelope(json: try TestSupport.fixtureJSON(name))
    }

    @Test func keysMatchTheREADME() throws {
        #expect(try TestKey(pemFile: "root-1.pem").base64 == "jOzFigeMZbHIExjmN+BOR6I3UkIScLGT8JWtVoSlLw0=")
        #expect(try TestKey(pemFile: "root-1.pem").keyID == "153223ff59d63abedff8f33c81e01dc0764481c92407586d20de43a4debcdb2a")
        #expect(try TestKey(pemFile: "root-2.pem").base64 == "/OKAekK+TRSt6FCOuJBunnVYtiWafJXyi3HxmK7Iqzg=")
        #expect(try TestKey(pemFile: "signing-1.pem").base64 == "+aqKuq0PEs8wAvx4vgeGHsL1azaPIkl9z85vnWu1N3s=")
        #expect(try TestKey(pemFile: "signing-1.pem").keyID == "b5fc3e50ef8e8fd92bc0c37ccf77d51e5c688e195d9503485fc94db73fc81c68")
        #expect(try TestKey(pemFile: "signing-2.pem").base64 == "ZCd6ieFci84kMC08jX7ErHeqpF77IPASSue+8j4MYvE=")
    }

    @Test func fileDigestsMatchTheDescription() throws {
        #expect(try SHA256.hex(try TestSupport.fixture("root-v1.json")) == "e4ff4ae6bdca95d86635422003382bec53df7fdaf16cad29f9a69b0d09e50cf0")
        #expect(try SHA256.hex(try TestSupport.fixture("root-v2.json")) == "ad506d98d5c03c99deee997127e32d28dc8bd2b00b9a5435272ad41679c0c459")
        #expect(try SHA256.hex(try TestSupport.fixture("release-v1.json")) == "be86e2af06982b95c87dee9a1868084b827026bb8c67a1820370edded323651b")
        #expect(try SHA256.hex(Array(Self.skill.utf8)) == "fd20c17c87ae57de4e4a777808ffce59a194f8edd6f066d27d370e0be983b4a7")
        #expect(Self.skill.utf8.count == 201)
    }

    @Test func rootChainVerifies() throws {
        let root1 = try TestKey(pemFile: "root-1.pem")
        let v1 = try RootDocument(envelope: try envelope("root-v1.json"))
        #expect(v1.version == 1 && v1.rootKey == root1.publicKey)
        #expect(v1.signingKeys == [try TestKey(pemFile: "signing-1.pem").publicKey])
        #expect(String(decoding: v1.envelope.payload, as: UTF8.self).hasPrefix(#"{"type":"root","version":1,"created_at":"2026-11-24T10:00:00Z","#))

        var chain = TrustChain(pinnedRootKey: root1.publicKey)
        let roots = [try TestSupport.fixtureJSON("root-v1.json"), try TestSupport.fixtureJSON("root-v2.json")]
        let advancedToV2 = chain.advance(roots)
        #expect(advancedToV2)
        #expect(chain.version == 2)
        #expect(chain.trusted?.rootKey == (try TestKey(pemFile: "root-2.pem").publicKey))
        #expect(chain.signingKeys == [try TestKey(pemFile: "signing-2.pem").publicKey])

        var other = TrustChain(pinnedRootKey: try TestKey(pemFile: "root-2.pem").publicKey)
        let advanced = other.advance(roots)
        #expect(!advanced, "a node pinned to another root trusts none of them")
    }

    @Test func releaseVerifiesAgainstRootV1AndNotAfterRotation() throws {
        let body = try TestSupport.fixture("release-v1.json")
        let (envelope, manifest) = try ReleaseCheck.parse(body)
        #expect(manifest.version == 1 && manifest.group == "demo")
        #expect(manifest.expiresAt == RFC3339.unixSeconds("2099-12-31T00:00:00Z"))
        #expect(manifest.files.count == 1)
        #expect(manifest.files[0].path == "skills/node-health/SKILL.md" && manifest.files[0].size == 201 && manifest.files[0].mode == 0o644)
        #expect(manifest.files[0].sha256 == "fd20c17c87ae57de4e4a777808ffce59a194f8edd6f066d27d370e0be983b4a7")
        #expect(String(decoding: JSONWriter.encode(manifest.runtimeConfig), as: UTF8.self) == #"{"agents":{"defaults":{"model":"gpt-4o-mini"}}}"#)

        let v1 = try RootDocument(envelope: try self.envelope("root-v1.json"))
        let now = RFC3339.unixSeconds("2026-12-01T00:00:00Z")!
        let verdict = try ReleaseCheck.verify(envelope, manifest, signingKeys: v1.signingKeys, target: TestNode.target, installedVersion: 0,
                                              floor: 0, now: now, envelopeSize: body.count)
        guard case .install = verdict else { Issue.record("not accepted"); return }

        let v2 = try RootDocument(envelope: try self.envelope("root-v2.json"))
        #expect(throws: NodeError.self) {
            try ReleaseCheck.verify(envelope, manifest, signingKeys: v2.signingKeys, target: TestNode.target, installedVersion: 0,
                                    floor: 0, now: now, envelopeSize: body.count)
        }
    }

    @Test func releaseFixtureAppliesEndToEnd() throws {
        let node = try TestNode()
        let root1 = try TestKey(pemFile: "root-1.pem")
        let source = FakeSource(roots: [try TestSupport.fixtureJSON("root-v1.json")])
        source.blobs["fd20c17c87ae57de4e4a777808ffce59a194f8edd6f066d27d370e0be983b4a7"] = Array(Self.skill.utf8)
        var updater = try node.updater(node.picoclaw, pinned: root1)
        let body = try TestSupport.fixture("release-v1.json")
        let result = updater.evaluate(body, from: source, now: RFC3339.unixSeconds("2026-12-01T00:00:00Z")!)
        #expect(result.status == .applied, "\(String(describing: result.error))")
        #expect(try node.read("home/workspace/skills/node-health/SKILL.md") == Self.skill)
        #expect(ReleaseStore(directory: node.state).seen() == "be86e2af06982b95c87dee9a1868084b827026bb8c67a1820370edded323651b")
    }
}
