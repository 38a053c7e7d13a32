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
    /// Hex of the certificate's serial number.
    var serial: String = ""
    var notValidBefore: Date
    var notValidAfter: Date

    /// True once the certificate is in the last third of its lifetime.
    func shouldRenew(at now: Date) -> Bool {
        let lifetime = notValidAfter.timeIntervalSince(notValidBefore)
        return notValidAfter.timeIntervalSince(now) < lifetime / 3
    }
}

/// Verifies each connection's client certificate against the fleet CA once, and remembers the
/// result (including "no certificate") until the connection closes, so keep-alive requests do
/// not re-parse certificates.
final class PeerIdentityCache: Sendable {
    private let ca: CertificateAuthority
    /// A connection's verified identity, or nil when it presented no certificate.
    private let identities = Mutex<[ObjectIdentifier: PeerIdentity?]>([:])

    init(ca: CertificateAuthority) {
        self.ca = ca
    }

    /// The verified identity of `channel`'s peer, or a `client_certificate_required` error.
    func identity(of channel: any Channel, now: Date = Date()) async throws(CoordinatorError) -> PeerIdentity {
        guard let identity = try await identityIfPresented(by: channel, now: now) else {
            throw CoordinatorError(.clientCertificateRequired, "this endpoint needs the node's client certificate (mutual TLS)")
        }
        return identity
    }

    /// The verified identity of `channel`'s peer; nil when it presented no certificate (or the
    /// connection is not TLS); an error when the certificate it presented is not valid.
    func identityIfPresented(by channel: any Channel, now: Date = Date()) async throws(CoordinatorError) -> PeerIdentity? {
        let key = ObjectIdentifier(channel)
        if let cached = identities.withLock({ $0[key] }) {
            guard let cached else { return nil }
            guard now <= cached.notValidAfter else {
                throw CoordinatorError(.clientCertificateRequired, "client certificate expired; enroll the node again")
            }
            return cached
        }
        let peer = try? await channel.nioSSL_peerCertificate().get()
        guard let peer else {
            remember(nil, for: channel)
            return nil
        }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: try peer.toDERBytes())
        } catch {
            throw CoordinatorError(.clientCertificateRequired, "client certificate could not be parsed")
        }
        let nodeID = try ca.verifyNodeCertificate(certificate, now: now)
        let identity = PeerIdentity(
            nodeID: nodeID, serial: certificate.serialHex, notValidBefore: certificate.notValidBefore,
            notValidAfter: certificate.notValidAfter
        )
        remember(identity, for: channel)
        return identity
    }

    private func remember(_ identity: PeerIdentity?, for channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let isNew = identities.withLock { map in
            let isNew = map.index(forKey: key) == nil
            map[key] = .some(identity)
            return isNew
        }
        if isNew {
            channel.closeFuture.whenComplete { [weak self] _ in
                _ = self?.identities.withLock { $0.removeValue(forKey: key) }
            }
        }
    }
}
