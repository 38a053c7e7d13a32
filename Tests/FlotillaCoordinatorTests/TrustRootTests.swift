import Crypto
import FlotillaProtocol
import Foundation
import Testing

@testable import FlotillaCoordinator

/// The trust chain as a node walks it (docs/releases.md): each root document signed by the
/// previous root and by its own.
@Suite struct TrustRootTests {
    /// Walks the chain from `pinned` and returns the newest document, or nil if a link fails.
    static func walk(_ body: Data, pinned: String) throws -> RootDocument? {
        let trust = try JSONDecoder().decode(TrustResponse.self, from: body)
        var root = try #require(Data(base64Encoded: pinned))
        var newest: RootDocument?
        for envelope in trust.roots {
            guard let payload = Envelope.verifiedPayload(envelope, publicKey: root) else { return nil }
            let document = try JSONDecoder().decode(RootDocument.self, from: payload)
            let own = try #require(Data(base64Encoded: document.rootKey))
            guard Envelope.verifiedPayload(envelope, publicKey: own) != nil, document.version == (newest?.version ?? 0) + 1 else { return nil }
            root = own
            newest = document
        }
        return newest
    }

    @Test func firstStartCreatesKeysAndAVerifiableRootDocument() async throws {
        let fixture = try await ReleaseFixture()
        let directory = DataDirectory(fixture.base.directory.path)
        #expect(try FileManager.default.attributesOfItem(atPath: directory.rootKey)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: directory.signingKey)[.posixPermissions] as? Int == 0o600)
        let document = try #require(try Self.walk(fixture.trust.trustResponseBody(), pinned: fixture.trust.rootPublicKey))
        #expect(document.version == 1)
        #expect(document.signingKeys == [try SigningKey.load(directory.signingKey).publicKeyBase64])

        // A restart loads the same keys rather than making new ones.
        let again = try await TrustRoot.open(directory: directory, store: fixture.store, masterKey: fixture.base.masterKey)
        #expect(again.rootPublicKey == fixture.trust.rootPublicKey)
        #expect(again.view() == fixture.trust.view())
    }

    @Test func signingAndRootRotationsKeepTheChainWalkableFromTheOriginalPin() async throws {
        let fixture = try await ReleaseFixture()
        let pinned = fixture.trust.rootPublicKey
        let firstSigning = fixture.trust.view().signingKeyIDs

        let afterSigning = try await fixture.trust.rotateSigningKey()
        #expect(afterSigning.rootVersion == 2)
        #expect(afterSigning.signingKeyIDs != firstSigning)
        #expect(afterSigning.rootPublicKey == pinned)

        let (afterRoot, newRoot) = try await fixture.trust.rotateRoot(oldRoot: nil, keepNewRootOnline: true)
        #expect(afterRoot.rootVersion == 3)
        #expect(afterRoot.rootPublicKey == newRoot.publicKeyBase64)
        let newest = try #require(try Self.walk(fixture.trust.trustResponseBody(), pinned: pinned))
        #expect(newest.version == 3)
        #expect(newest.rootKey == newRoot.publicKeyBase64)

        // A manifest signed now verifies with the newest document's signing key.
        let envelope = try JSONDecoder().decode(SignedEnvelope.self, from: try fixture.trust.sealRelease(
            ReleaseManifest(version: 1, group: "edge", createdAt: "2026-11-24T00:00:00Z", expiresAt: "2026-12-24T00:00:00Z",
                            runtimeConfig: .object([]), files: [])))
        let signingKey = try #require(Data(base64Encoded: newest.signingKeys[0]))
        #expect(Envelope.verifiedPayload(envelope, publicKey: signingKey) != nil)
        // ...and not with the retired one.
        let retired = try #require(Data(base64Encoded: pinned))
        #expect(Envelope.verifiedPayload(envelope, publicKey: retired) == nil)
    }

    @Test func offlineRootSignsRotationsOnlyWhenSupplied() async throws {
        let fixture = try await ReleaseFixture()
        let exported = try await fixture.trust.exportRoot(remove: true)
        #expect(!FileManager.default.fileExists(atPath: DataDirectory(fixture.base.directory.path).rootKey))
        #expect(fixture.trust.view().rootKeyOnline == false)
        await expectCoordinatorError(.rootKeyOffline) { _ = try await fixture.trust.rotateSigningKey() }
        await expectCoordinatorError(.invalidRequest) { _ = try await fixture.trust.rotateSigningKey(withOfflineRoot: SigningKey()) }

        let root = try SigningKey.parse(exported, source: "test")
        let view = try await fixture.trust.rotateSigningKey(withOfflineRoot: root)
        #expect(view.rootVersion == 2)
        #expect(try Self.walk(fixture.trust.trustResponseBody(), pinned: root.publicKeyBase64)?.version == 2)
    }

    @Test func aRootDocumentSignedOnlyByTheNewRootBreaksTheChain() throws {
        let old = SigningKey()
        let new = SigningKey()
        let v1 = try Envelope.seal(RootDocument(version: 1, createdAt: "t", rootKey: old.publicKeyBase64, signingKeys: []), keys: [old])
        let forged = try Envelope.seal(RootDocument(version: 2, createdAt: "t", rootKey: new.publicKeyBase64, signingKeys: []), keys: [new])
        let body = try JSONEncoder().encode(TrustResponse(roots: [
            try JSONDecoder().decode(SignedEnvelope.self, from: v1), try JSONDecoder().decode(SignedEnvelope.self, from: forged),
        ]))
        #expect(try Self.walk(body, pinned: old.publicKeyBase64) == nil)
    }

    @Test func keyFilesRoundTripAndRejectGarbage() async throws {
        let key = SigningKey()
        #expect(try SigningKey.parse(key.fileText, source: "t").keyID == key.keyID)
        await expectCoordinatorError(.invalidRequest) { _ = try SigningKey.parse("ed25519:nope", source: "t") }
        await expectCoordinatorError(.invalidRequest) { _ = try SigningKey.parse("-----BEGIN PRIVATE KEY-----", source: "t") }
    }
}
