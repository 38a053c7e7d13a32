import CFlotillaCrypto

/// Ed25519 signature checks over raw 32-byte keys (the release signing scheme; the agent
/// only verifies, it never holds a release key).
enum Ed25519 {
    /// True when `signature` (64 bytes) is a valid Ed25519 signature of `message` by `publicKey`
    /// (32 raw bytes). Malformed keys or signatures are simply not valid.
    @inline(never)
    static func verify(publicKey: [UInt8], message: [UInt8], signature: [UInt8]) -> Bool {
        guard publicKey.count == 32, signature.count == 64 else { return false }
        let key = publicKey.withUnsafeBufferPointer { buffer in
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, buffer.baseAddress, 32)
        }
        guard let key else {
            ERR_clear_error()
            return false
        }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else {
            ERR_clear_error()
            return false
        }
        let result = signature.withUnsafeBufferPointer { signatureBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                EVP_DigestVerify(context, signatureBuffer.baseAddress, 64, messageBuffer.baseAddress, messageBuffer.count)
            }
        }
        ERR_clear_error()
        return result == 1
    }

    /// The contract's key id: lowercase hex SHA-256 of the raw key.
    static func keyID(_ publicKey: [UInt8]) throws(NodeError) -> String {
        try SHA256.hex(publicKey)
    }
}
