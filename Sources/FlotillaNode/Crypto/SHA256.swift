import CFlotillaCrypto

/// Incremental SHA-256 through OpenSSL's EVP API: whole envelopes for `seen`, key ids, and
/// release files as they are checked.
final class SHA256 {
    private let context: OpaquePointer

    /// Starts a new digest.
    init() throws(NodeError) {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSLSupport.failure("EVP_MD_CTX_new") }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { throw OpenSSLSupport.failure("SHA-256 init") }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Feeds more bytes.
    func update(_ bytes: ArraySlice<UInt8>) throws(NodeError) {
        let ok = bytes.withUnsafeBytes { buffer in
            EVP_DigestUpdate(context, buffer.baseAddress, buffer.count)
        }
        guard ok == 1 else { throw OpenSSLSupport.failure("SHA-256 update") }
    }

    /// The 32-byte digest of everything fed so far (the object cannot be fed afterwards).
    func finish() throws(NodeError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { buffer in
            EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
        }
        guard ok == 1, length == 32 else { throw OpenSSLSupport.failure("SHA-256 final") }
        return digest
    }

    /// The digest of `bytes`.
    static func digest(_ bytes: [UInt8]) throws(NodeError) -> [UInt8] {
        let hasher = try SHA256()
        try hasher.update(bytes[...])
        return try hasher.finish()
    }

    /// Lowercase hex digest of `bytes`.
    static func hex(_ bytes: [UInt8]) throws(NodeError) -> String {
        Hex.lowercase(try digest(bytes))
    }

    /// Size and lowercase hex digest of a file, read in 64 KiB chunks (so a 4 MiB skill file
    /// never needs a second copy in memory). Never follows a symlink at `path`.
    static func file(_ path: String) throws(NodeError) -> (size: Int64, hex: String) {
        let hasher = try SHA256()
        var size: Int64 = 0
        try FileIO.forEachChunk(path) { (chunk: ArraySlice<UInt8>) throws(NodeError) in
            size += Int64(chunk.count)
            try hasher.update(chunk)
        }
        return (size, Hex.lowercase(try hasher.finish()))
    }
}
