import AsyncHTTPClient
import Crypto
import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import SwiftASN1
import X509
import _CryptoExtras

/// A node identity made the way a board makes one: a P-256 key generated locally and a CSR
/// enrolled through the real `/v1/enroll` endpoint.
struct SimulatedNode: Sendable {
    let name: String
    let certificatePEM: String
    let keyPEM: String
    /// The gateway key issued at enrollment.
    var gatewayKey: String? = nil

    /// Enrolls `name` with `token` at `serverURL`, trusting `caPEM`.
    static func enroll(name: String, token: String, serverURL: String, http: HTTPClient) async throws -> SimulatedNode {
        let key = P256.Signing.PrivateKey()
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName { CommonName(name) },
            privateKey: Certificate.PrivateKey(key),
            attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256
        )
        let body = EnrollRequest(
            token: token, name: name, csrPEM: try csr.serializeAsPEM().pemString, agentVersion: "bench", arch: "sim"
        )
        var request = HTTPClientRequest(url: serverURL + "/v1/enroll")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await http.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .created else {
            let error = try? JSONDecoder().decode(ErrorBody.self, from: data)
            throw CLIError("enrolling \(name) failed: \(error?.error.message ?? "HTTP \(response.status.code)")", code: error?.error.code)
        }
        let enrolled = try JSONDecoder().decode(EnrollResponse.self, from: data)
        return SimulatedNode(name: name, certificatePEM: enrolled.certificatePEM, keyPEM: key.pemRepresentation, gatewayKey: enrolled.gatewayKey)
    }

    /// A TLS client context presenting this node's certificate and trusting `caPEM`.
    func tlsContext(caPEM: String) throws -> NIOSSLContext {
        try NIOSSLContext(configuration: tlsConfiguration(caPEM: caPEM))
    }

    /// The TLS client configuration of `tlsContext` (for an AsyncHTTPClient of the node's own).
    func tlsConfiguration(caPEM: String) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        // The bench talks to 127.0.0.1: the CA is pinned, the name check adds nothing here.
        tls.certificateVerification = .noHostnameVerification
        return tls
    }
}
