import CFlotillaCrypto

/// PKCS#10 certificate signing requests for enrollment and renewal.
enum CertificateSigningRequest {
    /// A PEM CSR with subject `CN=<commonName>` for `key`'s key, signed ECDSA-SHA256.
    static func pem(key: NodeKey, commonName: String) throws(NodeError) -> String {
        guard let request = X509_REQ_new() else { throw OpenSSLSupport.failure("X509_REQ_new") }
        defer { X509_REQ_free(request) }
        guard X509_REQ_set_version(request, 0) == 1 else { throw OpenSSLSupport.failure("CSR version") }
        guard let subject = X509_REQ_get_subject_name(request),
              flotilla_name_add_common_name(subject, commonName) == 1 else {
            throw OpenSSLSupport.failure("CSR subject")
        }
        guard X509_REQ_set_pubkey(request, key.pointer) == 1 else { throw OpenSSLSupport.failure("CSR key") }
        guard X509_REQ_sign(request, key.pointer, EVP_sha256()) > 0 else { throw OpenSSLSupport.failure("CSR signature") }
        let bytes = try OpenSSLSupport.collect("write CSR") { bio in
            PEM_write_bio_X509_REQ(bio, request) == 1
        }
        return SystemText.string(bytes)
    }
}
