import Foundation
import Testing
@testable import FlotillaNode

@Suite("Keys, CSRs, fingerprints and node.conf pinning")
struct CryptoTests {
    @Test func keyAndCSRAreAcceptedByOpenSSL() throws {
        let directory = try TestSupport.temporaryDirectory()
        let key = try NodeKey.generate()
        let keyPEM = String(decoding: try key.pkcs8PEM(), as: UTF8.self)
        #expect(keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        try keyPEM.write(toFile: directory + "/key.pem", atomically: false, encoding: .utf8)

        let csr = try CertificateSigningRequest.pem(key: key, commonName: "board-01")
        #expect(csr.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\n"))
        try csr.write(toFile: directory + "/req.pem", atomically: false, encoding: .utf8)

        let verify = try TestSupport.run(["openssl", "req", "-in", "req.pem", "-verify", "-noout", "-subject"], in: directory)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("verify OK"))
        #expect(verify.output.contains("CN = board-01") || verify.output.contains("CN=board-01"))

        let text = try TestSupport.run(["openssl", "req", "-in", "req.pem", "-noout", "-text"], in: directory)
        #expect(text.output.contains("ecdsa-with-SHA256"))
        #expect(text.output.contains("prime256v1") || text.output.contains("P-256"))

        let keyCheck = try TestSupport.run(["openssl", "pkey", "-in", "key.pem", "-noout", "-check"], in: directory)
        #expect(keyCheck.status == 0, "\(keyCheck.output)")

        let reloaded = try NodeKey.load(pem: Array(keyPEM.utf8))
        #expect(try reloaded.pkcs8PEM() == key.pkcs8PEM())
    }

    @Test func fingerprintMatchesOpenSSL() throws {
        let directory = try TestSupport.temporaryDirectory()
        let pem = try TestSupport.makeCertificate(in: directory)
        let openssl = try TestSupport.run(["openssl", "x509", "-in", "ca.pem", "-noout", "-fingerprint", "-sha256"], in: directory)
        let expected = try #require(openssl.output.split(separator: "=").last)
            .replacingOccurrences(of: ":", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
            .lowercased()
        #expect(expected.count == 64)
        #expect(try Certificate(pem: Array(pem.utf8)).sha256Hex() == expected)
    }

    @Test func certificateValidityAndKeyMatch() throws {
        let directory = try TestSupport.temporaryDirectory()
        let pem = try TestSupport.makeCertificate(in: directory, days: 30)
        let certificate = try Certificate(pem: Array(pem.utf8))
        let validity = try certificate.validity()
        #expect(validity.notAfter - validity.notBefore == 30 * 86_400)
        let now = Int64(Date().timeIntervalSince1970)
        #expect(abs(validity.notBefore - now) < 600)
        let ownKey = try NodeKey.load(pem: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/ca.key"))))
        #expect(certificate.matches(ownKey))
        #expect(!certificate.matches(try NodeKey.generate()))
        #expect(throws: NodeError.self) { try Certificate(pem: Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)) }
    }

    @Test func nodeConfWithWrongFingerprintIsRefused() throws {
        let directory = try TestSupport.temporaryDirectory()
        let pem = try TestSupport.makeCertificate(in: directory)
        let good = try Certificate(pem: Array(pem.utf8)).sha256Hex()
        func conf(_ sha: String) -> [UInt8] {
            JSONWriter.encode(.object([
                JSONMember("coordinator_url", .string("https://127.0.0.1:7443/")),
                JSONMember("ca_pem", .string(pem)),
                JSONMember("ca_sha256", .string(sha)),
                JSONMember("token", .string("flt_secret")),
                JSONMember("group", .string("demo")),
            ]))
        }
        let accepted = try NodeConfig(bytes: conf(good.uppercased()))
        try accepted.verifyPinnedCA()
        #expect(accepted.coordinatorURL == "https://127.0.0.1:7443")

        let wrong = String(good.reversed())
        do {
            try NodeConfig(bytes: conf(wrong)).verifyPinnedCA()
            Issue.record("mismatching CA accepted")
        } catch {
            #expect(error.code == "ca_fingerprint_mismatch")
            #expect(error.message.contains(good))
        }
    }

    @Test func enrollRefusesMismatchedCABeforeTouchingTheStateDirectory() throws {
        let directory = try TestSupport.temporaryDirectory()
        let pem = try TestSupport.makeCertificate(in: directory)
        let conf = JSONWriter.encode(.object([
            JSONMember("coordinator_url", .string("https://127.0.0.1:1")),
            JSONMember("ca_pem", .string(pem)),
            JSONMember("ca_sha256", .string(String(repeating: "ab", count: 32))),
            JSONMember("token", .string("flt_secret")),
        ]))
        try Data(conf).write(to: URL(fileURLWithPath: directory + "/node.conf"))
        let state = directory + "/state"
        do {
            _ = try Enrollment.run(configPath: directory + "/node.conf", stateDirectory: state, name: "board-01")
            Issue.record("enrollment accepted a mismatched CA")
        } catch {
            #expect(error.code == "ca_fingerprint_mismatch")
        }
        #expect(!FileManager.default.fileExists(atPath: state))
    }

    @Test(arguments: ["https://example", "http://example.com", "ftp://x", "https://"])
    func configURLMustBeHTTPS(_ url: String) throws {
        let conf = JSONWriter.encode(.object([
            JSONMember("coordinator_url", .string(url)),
            JSONMember("ca_pem", .string("x")),
            JSONMember("ca_sha256", .string(String(repeating: "0", count: 64))),
            JSONMember("token", .string("t")),
        ]))
        if url == "https://example" {
            #expect(try NodeConfig(bytes: conf).coordinatorURL == url)
        } else {
            #expect(throws: NodeError.self) { try NodeConfig(bytes: conf) }
        }
    }
}
