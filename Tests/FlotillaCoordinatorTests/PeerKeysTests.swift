import Foundation
import Testing

@testable import FlotillaCoordinator

/// `flotilla keys export-coordinator`: exactly the files a peer coordinator needs, private.
@Suite struct PeerKeysTests {
    static func mode(_ path: String) throws -> Int {
        try #require((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue)
    }

    @Test func writesTheKeyFilesAPeerNeedsAndNothingElseIntoAPrivateDirectory() throws {
        let source = try TemporaryDirectory("flotilla-peer-source")
        let target = try TemporaryDirectory("flotilla-peer-target")
        defer { source.remove(); target.remove() }
        for name in ["ca.key", "ca.pem", "signing.key", "root.key", "master.key", "admin-token.sha256", "server.key", "local.key",
                     "metrics.token", "admin.token", "flotilla.sqlite"] {
            try SecureFile.write("secret of \(name)\n", to: source.file(name), mode: 0o600)
        }
        let out = target.file("peer")
        let written = try PeerKeys.export(from: DataDirectory(source.path), to: out, environment: [:])
        #expect(Set(written) == ["ca.key", "ca.pem", "signing.key", "root.key", "master.key", "admin-token.sha256"])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == Set(written))
        #expect(try Self.mode(out) & 0o777 == 0o700)
        for name in written {
            #expect(try Self.mode(out + "/" + name) & 0o777 == 0o600)
            #expect(try SecureFile.read(out + "/" + name) == "secret of \(name)\n")
        }
        // Never over a directory that holds something.
        #expect(throws: CoordinatorError.self) { try PeerKeys.export(from: DataDirectory(source.path), to: out, environment: [:]) }
    }

    @Test func aDirectoryMissingARequiredKeyExportsNothing() throws {
        let source = try TemporaryDirectory("flotilla-peer-source")
        let target = try TemporaryDirectory("flotilla-peer-target")
        defer { source.remove(); target.remove() }
        for name in ["ca.key", "ca.pem", "master.key"] { try SecureFile.write("x\n", to: source.file(name), mode: 0o600) }
        #expect(throws: CoordinatorError.self) { try PeerKeys.export(from: DataDirectory(source.path), to: target.file("peer"), environment: [:]) }
        #expect(!FileManager.default.fileExists(atPath: target.file("peer")))
    }
}
