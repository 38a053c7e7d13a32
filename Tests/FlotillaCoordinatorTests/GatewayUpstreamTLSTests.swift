import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import HummingbirdTesting
import NIOSSL
import Testing

@testable import FlotillaCoordinator

/// The gateway verifies providers' TLS: a provider whose certificate the coordinator does not
/// trust is unreachable, and `--upstream-ca` is how a private CA is trusted.
@Suite struct GatewayUpstreamTLSTests {
    @Test func aProviderIsReachedOnlyWhenItsCertificateIsTrusted() async throws {
        let directory = try TemporaryDirectory("flotilla-upstream-tls")
        defer { directory.remove() }
        let ca = try CertificateAuthority.create(commonName: "Private provider CA")
        let server = try ServerIdentity.loadOrIssue(directory: DataDirectory(directory.path), ca: ca, hostnames: [], listenHost: "127.0.0.1")
        try ca.certificatePEM.write(toFile: directory.file("provider-ca.pem"), atomically: true, encoding: .utf8)
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(server.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(server.keyPEM.utf8), format: .pem))
        )
        let provider = FakeProvider(key: GatewayTestbed.providerKey)
        let app = Application(router: provider.router(), server: try .tls(.http1(), tlsConfiguration: tls),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { providerClient in
            var gateway = GatewayTestbed.defaultGateway
            gateway.providers[0].baseURL = "https://127.0.0.1:\(providerClient.port!)/v1"
            let body = #"{"model":"fleet-default","messages":[]}"#

            try await GatewayTestbed.with(gateway: gateway) { bed in
                let (_, key) = try await bed.addNode("board-01")
                let response = try await bed.post("/v1/chat/completions", key: key, body: body)
                #expect(response.status == .badGateway)
                #expect(String(buffer: response.body).contains("upstream_unreachable"))
                #expect(String(buffer: response.body).contains("not trusted"))
            }
            #expect(provider.received.isEmpty)

            try await GatewayTestbed.with(gateway: gateway, upstreamCAFiles: [directory.file("provider-ca.pem")]) { bed in
                let (_, key) = try await bed.addNode("board-01")
                let response = try await bed.post("/v1/chat/completions", key: key, body: body)
                #expect(response.status == .ok)
            }
            #expect(provider.received.count == 1)
            #expect(provider.received.first?.authorized == true)
        }
    }
}
