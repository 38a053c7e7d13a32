import Crypto
import Foundation
import Testing

@testable import FlotillaCoordinator

@Suite struct SecretsTests {
    @Test func constantTimeEqualsComparesContentsAndLength() {
        #expect(Secrets.constantTimeEquals([], []))
        #expect(Secrets.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Secrets.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Secrets.constantTimeEquals([0, 2, 3], [1, 2, 3]))
        #expect(!Secrets.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!Secrets.constantTimeEquals([1, 2], [1, 2, 3]))
        #expect(!Secrets.constantTimeEquals([], [0]))
        let hash = Secrets.hash("flt_x")
        #expect(Secrets.constantTimeEquals(hash, Secrets.hash("flt_x")))
        #expect(!Secrets.constantTimeEquals(hash, Secrets.hash("flt_y")))
    }

    @Test func tokensHaveThePrefixAnd43Base64URLCharacters() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var seen = Set<String>()
        for _ in 0..<50 {
            let token = Secrets.generateToken()
            #expect(token.hasPrefix("flt_"))
            let body = token.dropFirst(4)
            #expect(body.count == 43)
            #expect(body.allSatisfy { allowed.contains($0) }, "\(token)")
            seen.insert(token)
        }
        #expect(seen.count == 50)
        let admin = Secrets.generateToken(prefix: "flt_admin_")
        #expect(admin.hasPrefix("flt_admin_"))
        #expect(admin.count == "flt_admin_".count + 43)
    }

    /// Ids are typed into the CLI: none may look like an option (`-abc`).
    @Test func shortIDsAreEighteenHexDigits() {
        for _ in 0..<2000 {
            let id = Secrets.shortID()
            #expect(id.count == 18 && id.allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
        }
    }

    @Test func tokenBodyDecodesTo32Bytes() throws {
        let token = Secrets.generateToken()
        let base64 = token.dropFirst(4).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "="
        let bytes = try #require(Data(base64Encoded: base64))
        #expect(bytes.count == 32)
    }

    @Test func hashIsSHA256OfUTF8() {
        // Known answer: SHA-256("abc").
        #expect(
            Secrets.hex(Secrets.hash("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        let token = Secrets.generateToken()
        #expect(Secrets.hash(token) == Array(SHA256.hash(data: Data(token.utf8))))
        #expect(Secrets.hash(token).count == 32)
        #expect(Secrets.hash("é") == Array(SHA256.hash(data: Data([0xC3, 0xA9]))))
    }

    @Test func base64URLAndHexEncodings() {
        #expect(Secrets.base64URL([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Secrets.base64URL([0x00]) == "AA")
        #expect(Secrets.hex([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
        #expect(Secrets.shortID().count == 18)
        #expect(Secrets.shortID() != Secrets.shortID())
    }
}
