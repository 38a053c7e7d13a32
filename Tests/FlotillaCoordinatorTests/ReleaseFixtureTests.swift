import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCoordinator

/// The shared signed-release fixtures (Tests/Fixtures/wire, made with OpenSSL by
/// Tests/Fixtures/keys/make-wire-fixtures.sh) verified with the coordinator's swift-crypto code,
/// as the node agent verifies them with libcrypto: the two sides cannot drift.
@Suite struct ReleaseFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wire")
    static let pinnedRoot = "jOzFigeMZbHIExjmN+BOR6I3UkIScLGT8JWtVoSlLw0="

    static func envelope(_ name: String) throws -> SignedEnvelope {
        try JSONDecoder().decode(SignedEnvelope.self, from: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    @Test func rootChainAndReleaseVerifyAcrossImplementations() throws {
        let body = try JSONEncoder().encode(TrustResponse(roots: [try Self.envelope("root-v1.json"), try Self.envelope("root-v2.json")]))
        let newest = try #require(try TrustRootTests.walk(body, pinned: Self.pinnedRoot))
        #expect(newest.version == 2)
        #expect(newest.rootKey == "/OKAekK+TRSt6FCOuJBunnVYtiWafJXyi3HxmK7Iqzg=")

        // The release is signed by v1's signing key: valid under v1, refused under v2.
        let v1Body = try JSONEncoder().encode(TrustResponse(roots: [try Self.envelope("root-v1.json")]))
        let v1 = try #require(try TrustRootTests.walk(v1Body, pinned: Self.pinnedRoot))
        let release = try Self.envelope("release-v1.json")
        let v1Signing = try #require(Data(base64Encoded: v1.signingKeys[0]))
        let v2Signing = try #require(Data(base64Encoded: newest.signingKeys[0]))
        let payload = try #require(Envelope.verifiedPayload(release, publicKey: v1Signing))
        #expect(Envelope.verifiedPayload(release, publicKey: v2Signing) == nil)

        let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: payload)
        #expect(manifest.version == 1)
        #expect(manifest.group == "demo")
        #expect(manifest.runtimeConfig["agents"]?["defaults"]?["model"] == .string("gpt-4o-mini"))
        #expect(manifest.files == [ManifestFile(path: "skills/node-health/SKILL.md", size: 201,
                                                sha256: "fd20c17c87ae57de4e4a777808ffce59a194f8edd6f066d27d370e0be983b4a7", mode: 0o644)])
    }

    @Test func aFlippedPayloadByteBreaksTheSignature() throws {
        var release = try Self.envelope("release-v1.json")
        var bytes = try #require(Data(base64Encoded: release.signed))
        bytes[bytes.count / 2] ^= 0x01
        release.signed = bytes.base64EncodedString()
        let v1 = try #require(try TrustRootTests.walk(
            try JSONEncoder().encode(TrustResponse(roots: [try Self.envelope("root-v1.json")])), pinned: Self.pinnedRoot))
        #expect(Envelope.verifiedPayload(release, publicKey: try #require(Data(base64Encoded: v1.signingKeys[0]))) == nil)
    }
}
