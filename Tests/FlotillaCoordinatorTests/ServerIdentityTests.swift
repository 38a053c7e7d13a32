import Crypto
import FlotillaProtocol
import Foundation
import SwiftASN1
import Testing
import X509

@testable import FlotillaCoordinator

@Suite struct CoordinatorConfigurationTests {
    @Test func parsesListenAddresses() throws {
        let v4 = try #require(CoordinatorConfiguration.parseListen("127.0.0.1:7443"))
        #expect(v4.host == "127.0.0.1")
        #expect(v4.port == 7443)
        let v6 = try #require(CoordinatorConfiguration.parseListen("[::1]:7443"))
        #expect(v6.host == "::1")
        #expect(v6.port == 7443)
        let portOnly = try #require(CoordinatorConfiguration.parseListen(":7443"))
        #expect(portOnly.host == "0.0.0.0")
        #expect(portOnly.port == 7443)
        let anyPort = try #require(CoordinatorConfiguration.parseListen("0.0.0.0:0"))
        #expect(anyPort.host == "0.0.0.0")
        #expect(anyPort.port == 0)
        let named = try #require(CoordinatorConfiguration.parseListen("coordinator.lan:65535"))
        #expect(named.host == "coordinator.lan")
        #expect(named.port == 65535)
    }

    @Test(arguments: ["nonsense", "host:99999", "host:", "host:-1", "host:port", "[::1]", "[::1:7443", "[::1]7443", ""])
    func rejectsMalformedListenAddresses(_ text: String) {
        #expect(CoordinatorConfiguration.parseListen(text) == nil)
    }

    @Test func localAdminURLUsesLoopbackForWildcards() throws {
        let directory = DataDirectory("/nonexistent")
        #expect(CoordinatorConfiguration(dataDirectory: directory, listenHost: "0.0.0.0").localAdminURL(port: 7443) == "https://127.0.0.1:7443")
        #expect(CoordinatorConfiguration(dataDirectory: directory, listenHost: "::").localAdminURL(port: 7443) == "https://[::1]:7443")
        #expect(CoordinatorConfiguration(dataDirectory: directory, listenHost: "::1").localAdminURL(port: 80) == "https://[::1]:80")
        #expect(CoordinatorConfiguration(dataDirectory: directory, listenHost: "127.0.0.1").localAdminURL(port: 1) == "https://127.0.0.1:1")
    }

    @Test func advertisedURLPrefersExplicitThenHostname() {
        let directory = DataDirectory("/nonexistent")
        var configuration = CoordinatorConfiguration(dataDirectory: directory, listenHost: "192.168.1.5", hostnames: [])
        #expect(configuration.advertisedURL(port: 7443) == "https://192.168.1.5:7443")
        configuration.hostnames = ["coordinator.lan", "other.lan"]
        #expect(configuration.advertisedURL(port: 7443) == "https://coordinator.lan:7443")
        configuration.advertiseURL = "https://fleet.example:443"
        #expect(configuration.advertisedURL(port: 7443) == "https://fleet.example:443")
        let v6 = CoordinatorConfiguration(dataDirectory: directory, listenHost: "fd00::5")
        #expect(v6.advertisedURL(port: 7443) == "https://[fd00::5]:7443")
    }
}

@Suite struct ServerIdentityTests {
    static let loopbackV4: [UInt8] = [127, 0, 0, 1]
    static let loopbackV6: [UInt8] = Array(repeating: 0, count: 15) + [1]

    @Test func subjectNamesCoverHostnamesListenAddressAndLoopback() {
        let names = ServerIdentity.subjectNames(hostnames: ["Coordinator.LAN", "10.0.0.7"], listenHost: "192.168.1.5")
        #expect(names.dns == ["coordinator.lan", "localhost"])
        #expect(names.ips.contains([10, 0, 0, 7]))
        #expect(names.ips.contains([192, 168, 1, 5]))
        #expect(names.ips.contains(Self.loopbackV4))
        #expect(names.ips.contains(Self.loopbackV6))
        #expect(names.ips.count == 4)
    }

    @Test func subjectNamesExcludeWildcardsAndDuplicates() {
        let names = ServerIdentity.subjectNames(hostnames: ["localhost", "127.0.0.1"], listenHost: "0.0.0.0")
        #expect(!names.ips.contains([0, 0, 0, 0]))
        #expect(names.ips == [Self.loopbackV4, Self.loopbackV6])
        #expect(names.dns == ["localhost"])
        let v6Wildcard = ServerIdentity.subjectNames(hostnames: [], listenHost: "::")
        #expect(!v6Wildcard.ips.contains(Array(repeating: 0, count: 16)))
        #expect(v6Wildcard.ips.count == 2)
    }

    static func serverNames(_ certificate: Certificate) throws -> (dns: Set<String>, ips: Set<[UInt8]>) {
        let san = try #require(try certificate.extensions.subjectAlternativeNames)
        var dns = Set<String>()
        var ips = Set<[UInt8]>()
        for name in san {
            switch name {
            case .dnsName(let value): dns.insert(value)
            case .ipAddress(let octets): ips.insert(Array(octets.bytes))
            default: break
            }
        }
        return (dns, ips)
    }

    @Test func loadOrIssueReusesThenReissuesWhenNamesChange() throws {
        let temp = try TemporaryDirectory("flotilla-identity")
        defer { temp.remove() }
        let directory = DataDirectory(temp.path)
        let ca = try CertificateAuthority.create()

        let first = try ServerIdentity.loadOrIssue(directory: directory, ca: ca, hostnames: ["coordinator.lan"], listenHost: "127.0.0.1")
        #expect(first.certificate.issuer == ca.certificate.subject)
        #expect(ca.certificate.publicKey.isValidSignature(first.certificate.signature, for: first.certificate))
        let eku = try #require(try first.certificate.extensions.extendedKeyUsage)
        #expect(eku.contains(.serverAuth))
        let names = try Self.serverNames(first.certificate)
        #expect(names.dns == ["coordinator.lan", "localhost"])
        #expect(names.ips == [Self.loopbackV4, Self.loopbackV6])
        // The key on disk matches the certificate.
        let key = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: directory.serverKey, encoding: .utf8))
        #expect(Certificate.PublicKey(key.publicKey) == first.certificate.publicKey)
        #expect(try Certificate(pemEncoded: try String(contentsOfFile: directory.serverCertificate, encoding: .utf8)) == first.certificate)

        let second = try ServerIdentity.loadOrIssue(directory: directory, ca: ca, hostnames: ["coordinator.lan"], listenHost: "127.0.0.1")
        #expect(second.certificate.serialNumber == first.certificate.serialNumber)
        #expect(second.keyPEM == first.keyPEM)

        let third = try ServerIdentity.loadOrIssue(
            directory: directory, ca: ca, hostnames: ["coordinator.lan", "fleet.lan"], listenHost: "127.0.0.1"
        )
        #expect(third.certificate.serialNumber != first.certificate.serialNumber)
        #expect(third.keyPEM != first.keyPEM)
        #expect(try Self.serverNames(third.certificate).dns == ["coordinator.lan", "fleet.lan", "localhost"])
        // And the re-issued certificate is now the one reused.
        let fourth = try ServerIdentity.loadOrIssue(
            directory: directory, ca: ca, hostnames: ["coordinator.lan", "fleet.lan"], listenHost: "127.0.0.1"
        )
        #expect(fourth.certificate.serialNumber == third.certificate.serialNumber)
    }

    @Test func loadOrIssueReissuesForAnotherCAOrNearExpiry() throws {
        let temp = try TemporaryDirectory("flotilla-identity")
        defer { temp.remove() }
        let directory = DataDirectory(temp.path)
        let ca = try CertificateAuthority.create()
        let first = try ServerIdentity.loadOrIssue(directory: directory, ca: ca, hostnames: [], listenHost: "127.0.0.1")

        let otherCA = try CertificateAuthority.create()
        let second = try ServerIdentity.loadOrIssue(directory: directory, ca: otherCA, hostnames: [], listenHost: "127.0.0.1")
        #expect(second.certificate.serialNumber != first.certificate.serialNumber)
        #expect(otherCA.certificate.publicKey.isValidSignature(second.certificate.signature, for: second.certificate))

        // Within 30 days of expiry, the certificate is renewed.
        let later = Date().addingTimeInterval(ServerIdentity.validity - 10 * 86_400)
        let third = try ServerIdentity.loadOrIssue(directory: directory, ca: otherCA, hostnames: [], listenHost: "127.0.0.1", now: later)
        #expect(third.certificate.serialNumber != second.certificate.serialNumber)
    }

    @Test func filesAreWrittenWithRestrictiveModes() throws {
        let temp = try TemporaryDirectory("flotilla-identity")
        defer { temp.remove() }
        let directory = DataDirectory(temp.path)
        _ = try ServerIdentity.loadOrIssue(
            directory: directory, ca: try CertificateAuthority.create(), hostnames: [], listenHost: "127.0.0.1"
        )
        func mode(_ path: String) throws -> Int {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return try #require(attributes[.posixPermissions] as? Int) & 0o777
        }
        #expect(try mode(directory.serverKey) == 0o600)
        #expect(try mode(directory.serverCertificate) == 0o644)
        // Neither group nor others can read the key.
        #expect(try mode(directory.serverKey) & 0o077 == 0)
        // No temporary files are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: temp.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func secureFileTightensModesOfFilesAndOnlyOfDirectoriesItCreates() throws {
        let temp = try TemporaryDirectory("flotilla-secure")
        defer { temp.remove() }
        let path = temp.file("secret")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644]))
        try SecureFile.write("new", to: path)
        #expect(try SecureFile.read(path) == "new")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)

        let dir = temp.file("data/nested")
        try SecureFile.ensureDirectory(dir)
        let dirAttributes = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((dirAttributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o700)
        // A directory that already exists is not Flotilla's to change (`--out /tmp`).
        chmod(dir, 0o755)
        try SecureFile.ensureDirectory(dir)
        let untouched = try FileManager.default.attributesOfItem(atPath: dir)
        #expect((untouched[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o755)
    }

    /// Key files are created 0600 from the first byte, never over a file and never through a
    /// symlink (`keys export-root --out`, `rotate-root --out`).
    @Test func newKeyFilesAreExclusiveAndNeverFollowSymlinks() throws {
        let temp = try TemporaryDirectory("flotilla-secure")
        defer { temp.remove() }
        let umaskBefore = umask(0)
        defer { umask(umaskBefore) }
        let path = temp.file("root.key")
        try SecureFile.createNew(Data("key".utf8), at: path)
        #expect(((try FileManager.default.attributesOfItem(atPath: path))[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)
        #expect(throws: CoordinatorError.self) { try SecureFile.createNew(Data("other".utf8), at: path) }
        #expect(try SecureFile.read(path) == "key")

        let target = temp.file("elsewhere")
        let link = temp.file("link.key")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(throws: CoordinatorError.self) { try SecureFile.createNew(Data("key".utf8), at: link) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
