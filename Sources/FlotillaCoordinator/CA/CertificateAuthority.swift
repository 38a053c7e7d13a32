import FlotillaProtocol
import Crypto
import Foundation
import SwiftASN1
import X509

/// The fleet's certificate authority: a P-256 key that signs the coordinator's server certificate
/// and every node's client certificate.
///
/// The key never leaves the data directory (0600). Node certificates carry the node id as their
/// subject common name, which is how node endpoints identify the caller.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let privateKey: P256.Signing.PrivateKey

    /// PEM of the CA certificate, as pinned in provisioning bundles.
    public let certificatePEM: String
    /// Lowercase hex SHA-256 of the CA certificate's DER.
    public let fingerprint: String

    init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.privateKey = privateKey
        self.certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        self.fingerprint = Secrets.hex(SHA256.hash(data: serializer.serializedBytes))
    }

    /// Creates a new CA, valid for `years`.
    public static func create(commonName: String = "Flotilla fleet CA", years: Int = 10, now: Date = Date()) throws -> Self {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Flotilla")
            CommonName(commonName)
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86_400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key)
        )
        return try Self(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from its PEM certificate and PEM private key.
    public static func load(certificatePEM: String, keyPEM: String) throws -> Self {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        let key = try P256.Signing.PrivateKey(pemRepresentation: keyPEM)
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw CoordinatorError.internal("CA key does not match CA certificate")
        }
        return try Self(certificate: certificate, privateKey: key)
    }

    /// PEM of the private key, for storing in the data directory.
    var privateKeyPEM: String { privateKey.pemRepresentation + "\n" }

    /// Issues the coordinator's TLS server certificate for `key`, covering `dnsNames` and `ipAddresses`.
    public func issueServerCertificate(
        for key: P256.Signing.PublicKey, dnsNames: [String], ipAddresses: [[UInt8]], validity: TimeInterval,
        now: Date = Date()
    ) throws -> Certificate {
        let publicKey = Certificate.PublicKey(key)
        let subject = try DistinguishedName {
            OrganizationName("Flotilla")
            CommonName(dnsNames.first ?? "flotilla-coordinator")
        }
        var names = SubjectAlternativeNames()
        names.append(contentsOf: dnsNames.map { .dnsName($0) })
        names.append(contentsOf: ipAddresses.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) })
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(validity),
            issuer: certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                names
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: try authorityKeyIdentifier())
            },
            issuerPrivateKey: Certificate.PrivateKey(privateKey)
        )
    }

    /// Issues a node's client certificate from its CSR, after checking the CSR's self-signature and
    /// that its key is P-256. The subject is replaced: CN is the node id the coordinator assigned.
    public func issueNodeCertificate(
        csrPEM: String, nodeID: String, validity: TimeInterval, now: Date = Date()
    ) throws(CoordinatorError) -> Certificate {
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(pemEncoded: csrPEM)
        } catch {
            throw .invalidRequest("csr_pem is not a PEM certificate signing request")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw .invalidRequest("the CSR's key must be ECDSA P-256")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw .invalidRequest("the CSR's signature does not verify")
        }
        do {
            let subject = try DistinguishedName {
                OrganizationName("Flotilla node")
                CommonName(nodeID)
            }
            return try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: csr.publicKey,
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(validity),
                issuer: certificate.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                    AuthorityKeyIdentifier(keyIdentifier: try authorityKeyIdentifier())
                },
                issuerPrivateKey: Certificate.PrivateKey(privateKey)
            )
        } catch {
            throw .internal("certificate issuance failed: \(error)")
        }
    }

    /// Checks that `leaf` was issued by this CA and is within its validity period, and returns
    /// the node id it names. Used for every node request, since the TLS layer accepts any client
    /// certificate so that foreign ones can be refused with a JSON error instead of a TLS alert.
    public func verifyNodeCertificate(_ leaf: Certificate, now: Date = Date()) throws(CoordinatorError) -> String {
        guard leaf.issuer == certificate.subject,
            certificate.publicKey.isValidSignature(leaf.signature, for: leaf)
        else {
            throw CoordinatorError(.clientCertificateRequired, "client certificate was not issued by this fleet's CA")
        }
        guard let usage = try? leaf.extensions.extendedKeyUsage, usage.contains(.clientAuth) else {
            throw CoordinatorError(.clientCertificateRequired, "certificate is not a node (client) certificate")
        }
        guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
            throw CoordinatorError(.clientCertificateRequired, "client certificate is expired or not yet valid")
        }
        for rdn in leaf.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let value = String(attribute.value) { return value }
            }
        }
        throw CoordinatorError(.clientCertificateRequired, "client certificate names no node")
    }

    private func authorityKeyIdentifier() throws -> ArraySlice<UInt8> {
        if let ski = try certificate.extensions.subjectKeyIdentifier {
            return ski.keyIdentifier
        }
        return SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
    }
}

extension Certificate {
    /// PEM text of the certificate with a trailing newline.
    public var pemString: String {
        get throws { try serializeAsPEM().pemString + "\n" }
    }
}

extension Certificate {
    /// The serial number as lowercase hex: how the store and the identity cache name a
    /// certificate (renewal retires the old one by it).
    var serialHex: String { Secrets.hex(serialNumber.bytes) }
}
