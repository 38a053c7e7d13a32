import CFlotillaCrypto

/// The node's private key: NIST P-256, generated on the board by OpenSSL and stored only in the
/// state directory as PKCS#8 PEM (mode 0600).
final class NodeKey {
    let pointer: OpaquePointer

    private init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Generates a new P-256 key with OpenSSL's CSPRNG.
    static func generate() throws(NodeError) -> NodeKey {
        guard let key = flotilla_generate_p256() else { throw OpenSSLSupport.failure("P-256 key generation") }
        return NodeKey(pointer: key)
    }

    /// Loads a PEM private key (PKCS#8 or traditional).
    static func load(pem: [UInt8]) throws(NodeError) -> NodeKey {
        let key = try OpenSSLSupport.withReadBIO(pem) { bio in
            PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let key else { throw OpenSSLSupport.failure("parse private key") }
        return NodeKey(pointer: key)
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    func pkcs8PEM() throws(NodeError) -> [UInt8] {
        try OpenSSLSupport.collect("write private key") { bio in
            PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1
        }
    }
}
