import Crypto
import FlotillaProtocol
import Foundation
import SwiftASN1
import Testing
import X509

@testable import FlotillaCoordinator

@Suite struct CertificateAuthorityTests {
    @Test func issuesNodeCertificateFromRealCSR() throws {
        let ca = try CertificateAuthority.create()
        let nodeKey = P256.Signing.PrivateKey()
        let csr = try makeCSR(key: Certificate.PrivateKey(nodeKey), commonName: "board-01")
        let now = wholeSecondsNow()
        let validity: TimeInterval = 7 * 86_400
        let nodeID = UUID().uuidString.lowercased()

        let certificate = try ca.issueNodeCertificate(csrPEM: try pem(csr), nodeID: nodeID, validity: validity, now: now)

        // The subject is replaced: CN is the node id, not the CSR's CN.
        #expect(commonName(of: certificate.subject) == nodeID)
        #expect(certificate.issuer == ca.certificate.subject)
        #expect(certificate.publicKey == Certificate.PublicKey(nodeKey.publicKey))
        #expect(ca.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))
        // A different key does not verify it.
        let stranger = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
        #expect(!stranger.isValidSignature(certificate.signature, for: certificate))

        let eku = try #require(try certificate.extensions.extendedKeyUsage)
        #expect(eku.contains(.clientAuth))
        #expect(!eku.contains(.serverAuth))
        let constraints = try #require(try certificate.extensions.basicConstraints)
        #expect(constraints == .notCertificateAuthority)

        #expect(certificate.notValidAfter == now.addingTimeInterval(validity))
        #expect(certificate.notValidBefore <= now)
        #expect(certificate.notValidBefore >= now.addingTimeInterval(-300))
    }

    @Test func refusesCSRWithP384Key() async throws {
        let ca = try CertificateAuthority.create()
        let csr = try makeCSR(key: Certificate.PrivateKey(P384.Signing.PrivateKey()), algorithm: .ecdsaWithSHA384)
        let csrPEM = try pem(csr)
        await expectCoordinatorError(.invalidRequest) {
            _ = try ca.issueNodeCertificate(csrPEM: csrPEM, nodeID: "n1", validity: 3600)
        }
    }

    @Test(arguments: [
        "",
        "not a pem at all",
        "-----BEGIN CERTIFICATE REQUEST-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nMIHKMHICAQAwEzERMA8GA1UEAwwIYm9hcmQtMDE=\n-----END CERTIFICATE REQUEST-----\n",
    ])
    func refusesGarbagePEM(_ text: String) async throws {
        let ca = try CertificateAuthority.create()
        await expectCoordinatorError(.invalidRequest) {
            _ = try ca.issueNodeCertificate(csrPEM: text, nodeID: "n1", validity: 3600)
        }
    }

    @Test func refusesCSRWhoseSignatureBelongsToAnotherRequest() async throws {
        let ca = try CertificateAuthority.create()
        let key = P256.Signing.PrivateKey()
        let genuine = try makeCSR(key: Certificate.PrivateKey(key), commonName: "board-01")
        let other = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()), commonName: "board-02")
        // Same subject and key as the genuine request, but another request's signature.
        let forged = try CertificateSigningRequest(
            version: .v1, subject: genuine.subject, publicKey: genuine.publicKey, attributes: genuine.attributes,
            signatureAlgorithm: .ecdsaWithSHA256, signature: other.signature
        )
        // Sanity: the genuine request is accepted, the forged one is not.
        _ = try ca.issueNodeCertificate(csrPEM: try pem(genuine), nodeID: "n1", validity: 3600)
        let forgedPEM = try pem(forged)
        await expectCoordinatorError(.invalidRequest) {
            _ = try ca.issueNodeCertificate(csrPEM: forgedPEM, nodeID: "n1", validity: 3600)
        }
    }

    @Test func refusesCSRWithCorruptedSignedBytes() async throws {
        let ca = try CertificateAuthority.create()
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()), commonName: "board-01")
        var der = try csr.serializeAsPEM().derBytes
        // Flip a byte inside the subject CN ("board-01"), which is covered by the signature.
        let cn = Array("board-01".utf8)
        let start = try #require((0...(der.count - cn.count)).first { Array(der[$0..<($0 + cn.count)]) == cn })
        der[start] ^= 0x01
        let corrupted = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString
        // Still parses as a CSR, so it is the signature check that refuses it.
        #expect((try? CertificateSigningRequest(pemEncoded: corrupted)) != nil)
        await expectCoordinatorError(.invalidRequest) {
            _ = try ca.issueNodeCertificate(csrPEM: corrupted, nodeID: "n1", validity: 3600)
        }
    }

    @Test func verifiesItsOwnNodeCertificate() throws {
        let ca = try CertificateAuthority.create()
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let certificate = try ca.issueNodeCertificate(csrPEM: try pem(csr), nodeID: "node-id-1", validity: 3600)
        #expect(try ca.verifyNodeCertificate(certificate) == "node-id-1")
    }

    @Test func refusesCertificateFromAnotherCA() async throws {
        let ca = try CertificateAuthority.create()
        let other = try CertificateAuthority.create()
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let foreign = try other.issueNodeCertificate(csrPEM: try pem(csr), nodeID: "intruder", validity: 3600)
        // Both CAs share the default subject name, so only the signature tells them apart.
        #expect(foreign.issuer == ca.certificate.subject)
        await expectCoordinatorError(.clientCertificateRequired) {
            _ = try ca.verifyNodeCertificate(foreign)
        }
    }

    @Test func refusesServerCertificateAsNodeIdentity() async throws {
        let ca = try CertificateAuthority.create()
        let server = try ca.issueServerCertificate(
            for: P256.Signing.PrivateKey().publicKey, dnsNames: ["coordinator"], ipAddresses: [], validity: 3600
        )
        await expectCoordinatorError(.clientCertificateRequired) {
            _ = try ca.verifyNodeCertificate(server)
        }
    }

    @Test func refusesExpiredCertificate() async throws {
        let ca = try CertificateAuthority.create(now: Date().addingTimeInterval(-86_400))
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let issuedAt = Date().addingTimeInterval(-7200)
        let expired = try ca.issueNodeCertificate(csrPEM: try pem(csr), nodeID: "old", validity: 60, now: issuedAt)
        #expect(expired.notValidAfter < Date())
        await expectCoordinatorError(.clientCertificateRequired) {
            _ = try ca.verifyNodeCertificate(expired)
        }
        // It was valid while within its lifetime.
        #expect(try ca.verifyNodeCertificate(expired, now: issuedAt.addingTimeInterval(30)) == "old")
    }

    @Test func refusesCertificateNotYetValid() async throws {
        let ca = try CertificateAuthority.create()
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let future = try ca.issueNodeCertificate(
            csrPEM: try pem(csr), nodeID: "later", validity: 3600, now: Date().addingTimeInterval(86_400)
        )
        await expectCoordinatorError(.clientCertificateRequired) {
            _ = try ca.verifyNodeCertificate(future)
        }
    }

    @Test func loadRoundTripKeepsFingerprintAndKey() throws {
        let ca = try CertificateAuthority.create()
        let loaded = try CertificateAuthority.load(certificatePEM: ca.certificatePEM, keyPEM: ca.privateKeyPEM)
        #expect(loaded.fingerprint == ca.fingerprint)
        #expect(loaded.certificate == ca.certificate)
        // The loaded CA signs with the same key: the original verifies what it issues.
        let csr = try makeCSR(key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        let certificate = try loaded.issueNodeCertificate(csrPEM: try pem(csr), nodeID: "n1", validity: 3600)
        #expect(try ca.verifyNodeCertificate(certificate) == "n1")
    }

    @Test func loadRefusesMismatchedKey() throws {
        let ca = try CertificateAuthority.create()
        let other = try CertificateAuthority.create()
        #expect(throws: (any Error).self) {
            _ = try CertificateAuthority.load(certificatePEM: ca.certificatePEM, keyPEM: other.privateKeyPEM)
        }
    }

    @Test func fingerprintIsSHA256OfCertificateDER() throws {
        let ca = try CertificateAuthority.create()
        // Decode the PEM body by hand rather than through swift-certificates.
        let body = ca.certificatePEM
            .split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }
            .joined()
        let der = try #require(Data(base64Encoded: body))
        let expected = SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
        #expect(ca.fingerprint == expected)
        #expect(ca.fingerprint.count == 64)
        #expect(ca.fingerprint == ca.fingerprint.lowercased())
    }

    @Test func caCertificateIsACertificateAuthority() throws {
        let ca = try CertificateAuthority.create(years: 10)
        let constraints = try #require(try ca.certificate.extensions.basicConstraints)
        #expect(constraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(ca.certificate.publicKey.isValidSignature(ca.certificate.signature, for: ca.certificate))
        #expect(ca.certificatePEM.hasSuffix("-----END CERTIFICATE-----\n"))
    }
}
