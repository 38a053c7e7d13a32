import CFlotillaCrypto

/// Shared plumbing for the OpenSSL wrappers: memory BIOs and error text.
enum OpenSSLSupport {
    /// A `.crypto` error carrying OpenSSL's most recent error text.
    static func failure(_ context: String) -> NodeError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return .crypto(context) }
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { pointer in
            ERR_error_string_n(code, pointer.baseAddress, pointer.count)
        }
        return .crypto(context + ": " + SystemText.string(cBuffer: buffer))
    }

    /// Runs `body` with a fresh writable memory BIO and returns what was written to it.
    static func collect(_ context: String, _ body: (OpaquePointer) -> Bool) throws(NodeError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("BIO_new") }
        defer { BIO_free(bio) }
        guard body(bio) else { throw failure(context) }
        var start: UnsafePointer<UInt8>?
        let length = flotilla_bio_contents(bio, &start)
        guard length > 0, let start else { throw failure(context) }
        return Array(UnsafeBufferPointer(start: start, count: Int(length)))
    }

    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) throws(NodeError) -> T {
        let result: T? = bytes.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return body(bio)
        }
        guard let result else { throw failure("BIO_new_mem_buf") }
        return result
    }
}
