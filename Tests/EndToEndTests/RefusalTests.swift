import Crypto
import FlotillaProtocol
import Foundation
import SwiftASN1
import Testing
import X509
import _CryptoExtras

extension EndToEnd {
/// Bad input over real TLS gets a typed JSON error, and nothing is stored.
@Suite(.serialized) struct RefusalTests {
    @Test func wrongTokenIsRefusedAndStoresNothing() async throws {
        try await TestFleet.with { fleet in
            var conf = try JSONDecoder().decode(NodeConf.self, from: Data(contentsOf: URL(fileURLWithPath: try fleet.provision() + "/node.conf")))
            conf.token = "flt_not-a-real-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            let body = try enrollBody(token: conf.token, name: "intruder")
            let reply = try await fleet.post("/v1/enroll", body: body)
            #expect(reply.status == 401)
            #expect(reply.errorCode == "token_invalid")
            #expect(try fleet.nodes().isEmpty)
        }
    }

    @Test func reusedSingleUseTokenIsRefused() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision()
            #expect(try fleet.enroll(bundle: bundle, name: "first").status == 0)
            let second = try fleet.enroll(bundle: bundle, name: "second")
            #expect(second.status != 0)
            #expect(second.stderr.contains("token_exhausted"), "\(second.stderr)")
            #expect(!FileManager.default.fileExists(atPath: second.stateDirectory + "/cert.pem"))
            #expect(!FileManager.default.fileExists(atPath: second.stateDirectory + "/node.json"))
            #expect(try fleet.nodes().map(\.name) == ["first"])
        }
    }

    @Test func expiredTokenIsRefused() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(extra: ["--ttl", "1s"])
            try await Task.sleep(for: .milliseconds(1500))
            let late = try fleet.enroll(bundle: bundle, name: "late")
            #expect(late.status != 0)
            #expect(late.stderr.contains("token_expired"), "\(late.stderr)")
            #expect(try fleet.nodes().isEmpty)
        }
    }

    @Test func clientCertificateFromAnotherCAIsRefused() async throws {
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "genuine")
            #expect(enrolled.status == 0)
            let nodeID = try #require(try fleet.node("genuine")?.id)

            // A look-alike certificate naming the same node, signed by a CA the fleet never saw.
            let rogueKey = P256.Signing.PrivateKey()
            let rogueName = try DistinguishedName { CommonName("Flotilla fleet CA") }
            let leafKey = P256.Signing.PrivateKey()
            let forged = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
                notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
                issuer: rogueName, subject: try DistinguishedName { CommonName(nodeID) },
                signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
                issuerPrivateKey: .init(rogueKey)
            )
            let reply = try await fleet.post(
                "/v1/heartbeat", body: sampleHeartbeat,
                certificatePEM: try forged.serializeAsPEM().pemString, keyPEM: leafKey.pemRepresentation
            )
            #expect(reply.status == 401)
            #expect(reply.errorCode == "client_certificate_required")
            #expect(try fleet.node("genuine")?.lastSeen == nil)

            let anonymous = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat)
            #expect(anonymous.errorCode == "client_certificate_required")
        }
    }

    @Test func revokedNodeIsRefusedFromItsNextRequest() async throws {
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "soon-gone")
            #expect(try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: enrolled.stateDirectory).status == 200)
            let seen = try fleet.node("soon-gone")?.lastSeen
            #expect(seen != nil)
            #expect(try fleet.cli(["node", "revoke", "soon-gone"]).status == 0)
            let reply = try await fleet.post("/v1/heartbeat", body: sampleHeartbeat, asNodeIn: enrolled.stateDirectory)
            #expect(reply.status == 403)
            #expect(reply.errorCode == "node_revoked")
            let renew = try await fleet.post("/v1/renew", body: Data(#"{"csr_pem":"x"}"#.utf8), asNodeIn: enrolled.stateDirectory)
            #expect(renew.errorCode == "node_revoked")
            #expect(try fleet.node("soon-gone")?.lastSeen == seen)
        }
    }

    @Test func malformedAndOversizedBodiesAreRefused() async throws {
        try await TestFleet.with { fleet in
            let enrolled = try fleet.enroll(bundle: try fleet.provision(), name: "sender")
            #expect(enrolled.status == 0)

            let malformed = try await fleet.post("/v1/heartbeat", body: Data("{not json".utf8), asNodeIn: enrolled.stateDirectory)
            #expect(malformed.status == 400)
            #expect(malformed.errorCode == "invalid_json")

            let wrongShape = try await fleet.post("/v1/heartbeat", body: Data(#"{"cpu_percent":"high"}"#.utf8), asNodeIn: enrolled.stateDirectory)
            #expect(wrongShape.errorCode == "invalid_json")

            let implausible = try await fleet.post("/v1/heartbeat", body: Data(#"{"cpu_percent":250}"#.utf8), asNodeIn: enrolled.stateDirectory)
            #expect(implausible.errorCode == "invalid_request")

            // A well-formed heartbeat whose local_model is neither "up" nor "down".
            var sideways = try #require(try JSONSerialization.jsonObject(with: sampleHeartbeat) as? [String: Any])
            sideways["local_model"] = "sideways"
            let unknownHealth = try await fleet.post("/v1/heartbeat", body: try JSONSerialization.data(withJSONObject: sideways),
                                                     asNodeIn: enrolled.stateDirectory)
            #expect(unknownHealth.status == 400)
            #expect(unknownHealth.errorCode == "invalid_request")
            let refusal = try JSONDecoder().decode(ErrorBody.self, from: unknownHealth.body).error
            #expect(refusal.message == #"local_model must be "up" or "down""#)

            var big = Data(#"{"kernel":""#.utf8)
            big.append(Data(repeating: UInt8(ascii: "x"), count: 64 * 1024))
            big.append(Data(#""}"#.utf8))
            let oversized = try await fleet.post("/v1/heartbeat", body: big, asNodeIn: enrolled.stateDirectory)
            #expect(oversized.status == 413)
            #expect(oversized.errorCode == "body_too_large")
            #expect(try fleet.node("sender")?.lastSeen == nil)

            let enrollMissing = try await fleet.post("/v1/enroll", body: Data(#"{"name":"x"}"#.utf8))
            #expect(enrollMissing.errorCode == "invalid_json")
            // A refused enrollment does not spend the single-use token.
            let bundle = try fleet.provision()
            let conf = try JSONDecoder().decode(NodeConf.self, from: Data(contentsOf: URL(fileURLWithPath: bundle + "/node.conf")))
            let badCSR = try await fleet.post("/v1/enroll", body: try enrollBody(token: conf.token, name: "x", csr: "garbage"))
            #expect(badCSR.status == 400)
            #expect(badCSR.errorCode == "invalid_request")
            let badName = try await fleet.post("/v1/enroll", body: try enrollBody(token: conf.token, name: "../etc"))
            #expect(badName.errorCode == "invalid_request")
            let taken = try await fleet.post("/v1/enroll", body: try enrollBody(token: conf.token, name: "sender"))
            #expect(taken.status == 409)
            #expect(taken.errorCode == "name_taken")
            #expect(try fleet.enroll(bundle: bundle, name: "second").status == 0)

            let unknownRoute = try await fleet.post("/v1/nope", body: Data("{}".utf8))
            #expect(unknownRoute.status == 404)
            #expect(unknownRoute.errorCode == "not_found")
            #expect(try fleet.nodes().count == 2)
        }
    }

    @Test func adminEndpointsNeedTheAdminToken() async throws {
        try await TestFleet.with { fleet in
            let reply = try await fleet.post("/admin/v1/tokens", body: Data(#"{"group":"g","uses":1,"ttl_seconds":60,"require_approval":false}"#.utf8))
            #expect(reply.status == 401)
            #expect(reply.errorCode == "unauthorized")
            let wrong = try ChildProcess.run(
                Binaries.flotilla, ["nodes", "--server", fleet.serverURL, "--token", "flt_admin_wrong", "--ca", fleet.dataDirectory + "/ca.pem"],
                logDirectory: fleet.root + "/logs"
            )
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("unauthorized"))
        }
    }
}
}

/// An enrollment body with a real CSR.
func enrollBody(token: String, name: String, csr: String? = nil) throws -> Data {
    let key = P256.Signing.PrivateKey()
    let request = try CertificateSigningRequest(
        version: .v1, subject: try DistinguishedName { CommonName(name) }, privateKey: .init(key),
        attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256
    )
    let body = EnrollRequest(
        token: token, name: name, csrPEM: try csr ?? request.serializeAsPEM().pemString, agentVersion: "test", arch: "x86_64"
    )
    return try JSONEncoder().encode(body)
}
