import Crypto
import Foundation
import SwiftASN1
import X509

/// The coordinator's TLS server certificate: reused across starts while it still covers the
/// requested names and has more than 30 days left, re-issued by the fleet CA otherwise.
struct ServerIdentity {
    let certificate: Certificate
    let certificatePEM: String
    let keyPEM: String

    static let validity: TimeInterval = 397 * 86_400
    static let renewWithin: TimeInterval = 30 * 86_400

    /// The names the certificate must cover: every `--hostname`, the listen host, and loopback.
    static func subjectNames(hostnames: [String], listenHost: String) -> (dns: [String], ips: [[UInt8]]) {
        var dns: [String] = []
        var ips: [[UInt8]] = []
        for name in hostnames + [listenHost, "localhost", "127.0.0.1", "::1"] {
            if let bytes = IPAddressBytes.parse(name) {
                if !IPAddressBytes.isWildcard(bytes), !ips.contains(bytes) { ips.append(bytes) }
            } else if !name.isEmpty, !dns.contains(name.lowercased()) {
                dns.append(name.lowercased())
            }
        }
        return (dns, ips)
    }

    static func loadOrIssue(
        directory: DataDirectory, ca: CertificateAuthority, hostnames: [String], listenHost: String, now: Date = Date()
    ) throws -> ServerIdentity {
        let names = subjectNames(hostnames: hostnames, listenHost: listenHost)
        if SecureFile.exists(directory.serverCertificate), SecureFile.exists(directory.serverKey) {
            let pem = try SecureFile.read(directory.serverCertificate)
            let keyPEM = try SecureFile.read(directory.serverKey)
            if let existing = try? Certificate(pemEncoded: pem),
                let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
                Certificate.PublicKey(key.publicKey) == existing.publicKey,
                existing.issuer == ca.certificate.subject,
                ca.certificate.publicKey.isValidSignature(existing.signature, for: existing),
                existing.notValidAfter.timeIntervalSince(now) > renewWithin,
                covers(existing, names)
            {
                return ServerIdentity(certificate: existing, certificatePEM: pem, keyPEM: keyPEM)
            }
        }
        let key = P256.Signing.PrivateKey()
        let certificate = try ca.issueServerCertificate(
            for: key.publicKey, dnsNames: names.dns, ipAddresses: names.ips, validity: validity, now: now
        )
        let identity = ServerIdentity(certificate: certificate, certificatePEM: try certificate.pemString, keyPEM: key.pemRepresentation + "\n")
        try SecureFile.write(identity.keyPEM, to: directory.serverKey, mode: 0o600)
        try SecureFile.write(identity.certificatePEM, to: directory.serverCertificate, mode: 0o644)
        return identity
    }

    private static func covers(_ certificate: Certificate, _ names: (dns: [String], ips: [[UInt8]])) -> Bool {
        guard let san = try? certificate.extensions.subjectAlternativeNames else { return false }
        var dns = Set<String>()
        var ips = Set<[UInt8]>()
        for name in san {
            switch name {
            case .dnsName(let value): dns.insert(value)
            case .ipAddress(let octets): ips.insert(Array(octets.bytes))
            default: break
            }
        }
        return Set(names.dns) == dns && Set(names.ips) == ips
    }
}

/// Textual IP addresses as the bytes X.509 stores in an iPAddress SAN.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func isWildcard(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 == 0 } }
}
