import AsyncHTTPClient
import Crypto
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import FlotillaProtocol
import SwiftASN1
import Testing
import X509

extension EndToEnd {
/// The security review's findings against a real coordinator: a database an attacker can write
/// mints no admin and yields no root key, the admin token rotates, renewal retires the old
/// certificate, files the coordinator creates are its own, bundles get a directory of their own.
@Suite struct HardeningTests {
    static func adminToken(_ fleet: TestFleet) throws -> String {
        try String(contentsOfFile: fleet.dataDirectory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func exportRoot(_ fleet: TestFleet, token: String, headers: [(String, String)] = []) async throws -> TestFleet.Reply {
        try await fleet.post("/admin/v1/keys/export-root", body: Data(#"{"remove":false}"#.utf8),
                             headers: [("Authorization", "Bearer \(token)")] + headers)
    }

    @Test func aWrittenDatabaseMintsNoAdminAndTheRootKeyNeedsTheDataDirectory() async throws {
        try await TestFleet.with { fleet in
            // The attacker writes their token's hash where older coordinators kept the admin's.
            fleet.killCoordinator()
            let attacker = "flt_admin_attacker"
            let database = try DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite")
            try await database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO settings(key, value) VALUES ('admin_token_sha256', ?)",
                               arguments: [Data(SHA256.hash(data: Data(attacker.utf8)))])
            }
            try database.close()
            try fleet.startCoordinatorAgain()

            let forged = try await Self.exportRoot(fleet, token: attacker)
            #expect(forged.status == 401 && forged.errorCode == "unauthorized")

            // The admin token alone does not hand out the root key, nor replace it.
            let token = try Self.adminToken(fleet)
            let remote = try await Self.exportRoot(fleet, token: token)
            #expect(remote.status == 403 && remote.errorCode == "local_access_required")
            #expect(!String(decoding: remote.body, as: UTF8.self).contains("PRIVATE KEY"))
            let rotate = try await fleet.post("/admin/v1/keys/rotate-root", body: Data("{}".utf8), headers: [("Authorization", "Bearer \(token)")])
            #expect(rotate.errorCode == "local_access_required")
            let wrongLocal = try await Self.exportRoot(fleet, token: token, headers: [("Flotilla-Local-Key", "flt_local_guess")])
            #expect(wrongLocal.errorCode == "local_access_required")

            // The CLI pointed at a remote coordinator cannot either; on the machine it can.
            let caFile = fleet.root + "/ca.pem"
            try fleet.caPEM.write(toFile: caFile, atomically: true, encoding: .utf8)
            let viaServer = try ChildProcess.run(Binaries.flotilla, ["keys", "export-root", "--out", fleet.root + "/remote.key",
                                                                     "--server", fleet.serverURL, "--token", token, "--ca", caFile],
                                                 logDirectory: fleet.root + "/logs")
            #expect(viaServer.status != 0 && viaServer.stderr.contains("data directory"))
            #expect(!FileManager.default.fileExists(atPath: fleet.root + "/remote.key"))
            let local = try fleet.cli(["keys", "export-root", "--out", fleet.root + "/root.key"])
            #expect(local.status == 0, "\(local.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: fleet.root + "/root.key")[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o777 } == 0o600)
            #expect(try fleet.cli(["keys", "export-root", "--out", fleet.root + "/root.key"]).status != 0, "never over an existing file")
        }
    }

    @Test func theAdminTokenRotatesAndTheOldOneStopsAtOnce() async throws {
        try await TestFleet.with { fleet in
            let old = try Self.adminToken(fleet)
            let rotated = try fleet.cli(["admin-token", "rotate"])
            #expect(rotated.status == 0, "\(rotated.stderr)")
            let new = try Self.adminToken(fleet)
            #expect(new != old && new.hasPrefix("flt_admin_"))
            #expect(!rotated.stdout.contains(new), "not printed when stdout is not a terminal and the file has it")
            let stale = try await fleet.post("/admin/v1/tokens", body: Data("{}".utf8), headers: [("Authorization", "Bearer \(old)")])
            #expect(stale.status == 401)
            #expect(try fleet.cli(["nodes"]).status == 0, "the CLI on this machine reads the new token")

            // The first start's token never reached the coordinator's output (not a terminal).
            #expect(!fleet.coordinator.stdout.contains(old))
            #expect(fleet.coordinator.stdout.contains("admin.token"))
        }
    }

    @Test func filesTheCoordinatorCreatesAreItsOwnAndBundlesNeedAnEmptyDirectory() async throws {
        try await TestFleet.with { fleet in
            #expect(try fleet.cli(["nodes"]).status == 0)
            for name in ["flotilla.sqlite", "flotilla.sqlite-wal", "flotilla.sqlite-shm", "admin.token", "admin-token.sha256", "local.key"] {
                let mode = try FileManager.default.attributesOfItem(atPath: fleet.dataDirectory + "/" + name)[.posixPermissions] as? Int
                #expect(mode.map { $0 & 0o077 } == 0, "\(name) is \(String(mode ?? 0, radix: 8))")
            }

            let shared = fleet.root + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try "someone else's\n".write(toFile: shared + "/notes.txt", atomically: true, encoding: .utf8)
            let refused = try fleet.cli(["provision", "--group", "demo", "--out", shared, "--provisioning-dir", Binaries.repositoryRoot + "/provisioning"])
            #expect(refused.status != 0 && refused.stderr.contains("not empty"))
            #expect(try fleet.cli(["token", "list", "--json"]).stdout.contains("demo") == false, "no token was created")

            let empty = fleet.root + "/empty"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let made = try fleet.cli(["provision", "--group", "demo", "--out", empty, "--provisioning-dir", Binaries.repositoryRoot + "/provisioning"])
            #expect(made.status == 0, "\(made.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: empty)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o777 } == 0o755, "an existing directory keeps its mode")
        }
    }

    @Test func renewalRetiresTheOldCertificateOnceTheNewOneIsUsed() async throws {
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "renewer")
            #expect(enrolled.status == 0)
            let oldCertificate = try String(contentsOfFile: enrolled.stateDirectory + "/cert.pem", encoding: .utf8)
            let oldKey = try String(contentsOfFile: enrolled.stateDirectory + "/key.pem", encoding: .utf8)
            let newKey = P256.Signing.PrivateKey()
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName("renewer") }, privateKey: .init(newKey),
                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
            let body = try JSONEncoder().encode(["csr_pem": try csr.serializeAsPEM().pemString])
            let renewed = try await fleet.post("/v1/renew", body: body, asNodeIn: enrolled.stateDirectory)
            #expect(renewed.status == 200)
            let newCertificate = try JSONDecoder().decode(RenewResponse.self, from: renewed.body).certificatePEM

            // Until the node uses its new certificate, the old one still works (a lost answer
            // must not lock the node out); its first use retires the old one.
            #expect(try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, certificatePEM: oldCertificate, keyPEM: oldKey).status == 200)
            #expect(try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, certificatePEM: newCertificate,
                                         keyPEM: newKey.pemRepresentation).status == 200)
            let retired = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, certificatePEM: oldCertificate, keyPEM: oldKey)
            #expect(retired.status == 401 && retired.errorCode == "certificate_retired")
            #expect(try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, certificatePEM: newCertificate,
                                         keyPEM: newKey.pemRepresentation).status == 200)
        }
    }

    @Test func aPendingNodeCannotRenewAndNamesDifferingInCaseCollide() async throws {
        try await TestFleet.with { fleet in
            let pending = try fleet.enroll(bundle: try fleet.provision(extra: ["--require-approval"]), name: "Board-7")
            #expect(pending.status == 0, "\(pending.stderr)")
            #expect(try fleet.node("Board-7")?.status == .pending)
            let csr = try CertificateSigningRequest(
                version: .v1, subject: try DistinguishedName { CommonName("Board-7") }, privateKey: .init(P256.Signing.PrivateKey()),
                attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256)
            let body = try JSONEncoder().encode(["csr_pem": try csr.serializeAsPEM().pemString])
            let renew = try await fleet.post("/v1/renew", body: body, asNodeIn: pending.stateDirectory)
            #expect(renew.status == 403 && renew.errorCode == "node_pending")

            let twin = try fleet.enroll(bundle: try fleet.provision(), name: "board-7")
            #expect(twin.status != 0 && twin.stderr.contains("name_taken"), "\(twin.stderr)")
            #expect(try fleet.nodes().filter { $0.name.lowercased() == "board-7" }.count == 1)
        }
    }

    /// `flotilla bench heartbeats --kill-after`: its own coordinator killed with SIGKILL under
    /// heartbeat load and started again; every heartbeat a node got a 200 for is in the database.
    @Test func killMinus9UnderHeartbeatLoadLosesNoAcknowledgedHeartbeat() throws {
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-kill-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: logs) }
        let run = try ChildProcess.run(Binaries.flotilla, ["bench", "heartbeats", "--nodes", "10", "--duration", "3s", "--kill-after", "1s"],
                                       logDirectory: logs, timeout: 120)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let line = run.stdout.split(separator: "\n").first { $0.hasPrefix("acknowledged:") }
        let acknowledged = line.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        #expect(acknowledged > 0, "the load ran before the kill: \(run.stdout)")
        #expect(run.stdout.contains("acknowledged but missing: 0"), "\(run.stdout)")
    }

    /// kill -9 while nodes send release reports back to back: after the restart each node's
    /// stored report is the last one it got a 200 for, or the one in flight at the kill (committed
    /// before its answer was lost), never an older one.
    @Test func killMinus9WhileReportsArriveLosesNoAcknowledgedReport() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(extra: ["--uses", "4"])
            var enrolledNodes: [(name: String, certificate: String, key: String)] = []
            for index in 0..<4 {
                let enrolled = try fleet.enroll(bundle: bundle, name: "reporter-\(index)")
                #expect(enrolled.status == 0, "\(enrolled.stderr)")
                enrolledNodes.append(("reporter-\(index)", try String(contentsOfFile: enrolled.stateDirectory + "/cert.pem", encoding: .utf8),
                              try String(contentsOfFile: enrolled.stateDirectory + "/key.pem", encoding: .utf8)))
            }
            let acknowledged = Acknowledged()
            let url = fleet.serverURL + "/v1/release/report"
            let caPEM = fleet.caPEM
            let nodes = enrolledNodes
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in nodes {
                    group.addTask {
                        var tls = TLSConfiguration.makeClientConfiguration()
                        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
                        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(node.certificate.utf8)).map { .certificate($0) }
                        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(node.key.utf8), format: .pem))
                        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
                        for sequence in 1...100_000 {
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "content-type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: #"{"version":1,"status":"downloading","message":"r\#(sequence)"}"#))
                            guard let response = try? await client.execute(request, timeout: .seconds(10)), response.status == .ok else { break }
                            acknowledged.last.withLock { $0[node.name] = sequence }
                        }
                        try? await client.shutdown()
                    }
                }
                let deadline = ContinuousClock.now + .seconds(60)
                while acknowledged.last.withLock({ $0.values.reduce(0, +) }) < 200, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                fleet.killCoordinator()
                try await group.waitForAll()
            }
            try fleet.startCoordinatorAgain()
            let stored = try await DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite").read { db in
                try Row.fetchAll(db, sql: "SELECT n.name, r.message FROM node_releases r JOIN nodes n ON n.id = r.node_id")
                    .reduce(into: [String: Int]()) { $0[$1["name"]] = Int(String(($1["message"] as String).dropFirst())) }
            }
            let acked = acknowledged.last.withLock { $0 }
            #expect(acked.values.reduce(0, +) >= 200, "\(acked)")
            for (name, last) in acked {
                let kept = stored[name] ?? 0
                #expect(kept == last || kept == last + 1, "\(name): acknowledged up to r\(last), stored r\(kept)")
            }
        }
    }

    /// The last report each node got a 200 for.
    final class Acknowledged: Sendable {
        let last = Mutex<[String: Int]>([:])
    }
}
}
