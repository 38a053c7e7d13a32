import CFlotillaCrypto

/// An X.509 certificate parsed with OpenSSL: used to pin the fleet CA by fingerprint, to decide
/// when the node certificate needs renewal and to check a new certificate matches its key.
final class Certificate {
    let pointer: OpaquePointer

    /// Parses the first certificate of a PEM text.
    init(pem: [UInt8]) throws(NodeError) {
        let certificate = try OpenSSLSupport.withReadBIO(pem) { bio in
            PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let certificate else { throw OpenSSLSupport.failure("parse certificate") }
        pointer = certificate
    }

    deinit {
        X509_free(pointer)
    }

    /// Lowercase hex SHA-256 of the certificate's DER encoding (what `ca_sha256` pins).
    func sha256Hex() throws(NodeError) -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { buffer in
            X509_digest(pointer, EVP_sha256(), buffer.baseAddress, &length)
        }
        guard ok == 1, length == 32 else { throw OpenSSLSupport.failure("certificate digest") }
        return Hex.lowercase(digest)
    }

    /// notBefore and notAfter in Unix seconds.
    func validity() throws(NodeError) -> (notBefore: Int64, notAfter: Int64) {
        var notBefore: Int64 = 0
        var notAfter: Int64 = 0
        guard flotilla_x509_validity(pointer, &notBefore, &notAfter) == 1 else {
            throw OpenSSLSupport.failure("certificate validity")
        }
        return (notBefore, notAfter)
    }

    /// True when `key` is the private key of this certificate's key.
    func matches(_ key: NodeKey) -> Bool {
        let ok = X509_check_private_key(pointer, key.pointer) == 1
        ERR_clear_error()
        return ok
    }

    /// True when `now` is in the last third of the validity window (or past it).
    static func needsRenewal(notBefore: Int64, notAfter: Int64, now: Int64) -> Bool {
        guard notAfter > notBefore else { return true }
        let lifetime = notAfter - notBefore
        return now >= notAfter - lifetime / 3
    }
}
