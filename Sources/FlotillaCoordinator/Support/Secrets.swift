import Crypto
import Foundation

/// Generation, hashing and comparison of bearer secrets (admin and enrollment tokens).
///
/// Secrets are 32 random bytes, base64url-encoded behind a `flt_` prefix. Only their SHA-256 is
/// stored; comparisons run in constant time.
public enum Secrets {
    /// A new random secret such as `flt_3q2-…`.
    public static func generateToken(prefix: String = "flt_") -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        return prefix + base64URL(bytes)
    }

    /// SHA-256 of the secret's UTF-8 bytes.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Compares two byte strings without leaking, through timing, where they first differ.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    /// A random identifier for database rows that are not secret (token ids, request ids):
    /// 18 lowercase hex digits. Hex, not base64url: an id that began with `-` was taken for an
    /// option by `flotilla token revoke ID` (one id in 64).
    public static func shortID() -> String {
        var rng = SystemRandomNumberGenerator()
        return hex((0..<9).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
