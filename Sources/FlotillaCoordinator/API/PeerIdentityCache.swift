import SwiftASN1
import FlotillaProtocol
import Foundation
import NIOCore
import NIOSSL
import Synchronization
import X509

/// The node a TLS connection's client certificate names, and that certificate's lifetime.
struct PeerIdentity: Sendable {
    var nodeID: String
    var notValidBefore: Date
    var notValidAfter: Date

    /// True once the certificate is in the last third of its lifetime.
    func shouldRenew(at now: Date) -> Bool {
        let lifetime = notValidAfter.timeIntervalSince(notValidBefore)
        return notValidAfter.timeIntervalSince(now) < lifetime / 3
    }
}

/// Verifies each connection's client certificate against the fleet CA once, and remembers the
/// result until the connection closes, so keep-alive heartbeats do not re-parse certificates.
final class PeerIdentityCache: Sendable {
    private let ca: CertificateAuthority
    private let identities = Mutex<[ObjectIdentifier: PeerIdentity]>([:])

    init(ca: CertificateAuthority) {
        self.ca = ca
    }

    /// The verified identity of `channel`'s peer, or a `client_certificate_required` error.
    func identity(of channel: any Channel, now: Date = Date()) async throws(CoordinatorError) -> PeerIdentity {
        let key = ObjectIdentifier(channel)
        if let cached = identities.withLock({ $0[key] }) {
            guard now <= cached.notValidAfter else {
                throw CoordinatorError(.clientCertificateRequired, "client certificate expired; enroll the node again")
            }
            return cached
        }
        let peer: NIOSSLCertificate?
        do {
            peer = try await channel.nioSSL_peerCertificate().get()
        } catch {
            throw CoordinatorError(.clientCertificateRequired, "this endpoint needs a TLS client certificate")
        }
        guard let peer else {
            throw CoordinatorError(.clientCertificateRequired, "this endpoint needs the node's client certificate (mutual TLS)")
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: try peer.toDERBytes())
        } catch {
            throw CoordinatorError(.clientCertificateRequired, "client certificate could not be parsed")
        }
        let nodeID = try ca.verifyNodeCertificate(certificate, now: now)
        let identity = PeerIdentity(
            nodeID: nodeID, notValidBefore: certificate.notValidBefore, notValidAfter: certificate.notValidAfter
        )
        identities.withLock { $0[key] = identity }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.identities.withLock { $0.removeValue(forKey: key) }
        }
        return identity
    }
}
