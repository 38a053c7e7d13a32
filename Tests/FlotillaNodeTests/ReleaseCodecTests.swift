import Foundation
import Testing
@testable import FlotillaNode

@Suite("Release building blocks: base64, RFC 3339, Ed25519, SHA-256, paths, config merge")
struct ReleaseCodecTests {
    @Test func base64IsStrict() {
        for text in ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYmFy", "+/+/"] {
            #expect(Base64.decode(text) == Data(base64Encoded: text).map { Array($0) }, "\(text)")
        }
        for bad in ["Zg", "Zg=", "Z===", "Zm9v\n", "Zh==", "Zm9=", "Zm9v Zm9v", "=Zm9", "Zg==Zg==", "Zm-_"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
        let key = TestKey(7)
        #expect(Base64.decode(key.base64) == key.publicKey)
    }

    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-24T10:00:00Z", Int64(1_795_514_400)),
        ("2026-11-24T10:00:00+00:00", Int64(1_795_514_400)),
        ("2026-11-24T10:00:00.999Z", Int64(1_795_514_400)),
        ("2026-11-24t10:00:00z", Int64(1_795_514_400)),
        ("2026-11-24T12:30:00+02:30", Int64(1_795_514_400)),
        ("2026-11-24T05:00:00-05:00", Int64(1_795_514_400)),
        ("2024-02-29T23:59:60Z", Int64(1_709_251_199)),
        ("2099-12-31T00:00:00Z", Int64(4_102_358_400)),
    ])
    func rfc3339Parses(_ text: String, _ expected: Int64) {
        #expect(RFC3339.unixSeconds(text) == expected)
    }

    @Test func rfc3339MatchesFoundation() throws {
        let formatter = ISO8601DateFormatter()
        for text in ["2000-02-29T01:02:03Z", "2100-03-01T00:00:00Z", "1999-12-31T23:59:59Z", "2038-01-19T03:14:08Z"] {
            let date = try #require(formatter.date(from: text))
            #expect(RFC3339.unixSeconds(text) == Int64(date.timeIntervalSince1970), "\(text)")
        }
    }

    @Test(arguments: ["", "2026-11-24", "2026-11-24T10:00:00", "2026-11-24 10:00:00Z", "2026-13-01T00:00:00Z",
                      "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T10:00:00.Z",
                      "2026-11-24T10:00:00+0000", "2026-11-24T10:00:00Zjunk", "+2026-11-24T10:00:00Z", "2026-1-24T10:00:00Z"])
    func rfc3339Refuses(_ text: String) {
        #expect(RFC3339.unixSeconds(text) == nil)
    }

    @Test func ed25519VerifiesAndRefuses() throws {
        let key = TestKey(3)
        let message = Array("payload bytes".utf8)
        let signature = key.sign(message)
        #expect(Ed25519.verify(publicKey: key.publicKey, message: message, signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: message + [0], signature: signature))
        #expect(!Ed25519.verify(publicKey: TestKey(4).publicKey, message: message, signature: signature))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: message, signature: flipped))
        #expect(!Ed25519.verify(publicKey: Array(key.publicKey.dropLast()), message: message, signature: signature))
        #expect(!Ed25519.verify(publicKey: key.publicKey, message: message, signature: Array(signature.dropLast())))
        #expect(try Ed25519.keyID(key.publicKey) == key.keyID)
        #expect(key.keyID.count == 64)
    }

    @Test func sha256OfBytesAndFiles() throws {
        #expect(try SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let directory = try TestSupport.temporaryDirectory()
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(big).write(to: URL(fileURLWithPath: directory + "/big"))
        let file = try SHA256.file(directory + "/big")
        #expect(file.size == 200_000)
        #expect(file.hex == (try SHA256.hex(big)))
        try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: directory + "/big")
        #expect(throws: NodeError.self) { try SHA256.file(directory + "/link") }
    }

    @Test(arguments: [
        ("skills/node-health/SKILL.md", true), ("skills/a/scripts/run.sh", true), ("skills/A1-b2-C3/x", true),
        ("skills/a/b/c/d/e", true), (String(repeating: "skills/" + String(repeating: "a", count: 64) + "/x", count: 1), true),
        ("skills/" + String(repeating: "a", count: 65) + "/x", false),
        ("skills/node-health", false), ("skills/node-health/", false), ("/skills/a/x", false), ("/etc/passwd", false),
        ("skills/../x/y", false), ("skills/a/../../etc/passwd", false), ("skills/a/./x", false), ("skills/a//x", false),
        ("skills/a/x/..", false), ("skills/a\\b/x", false), ("skills/a/x\\y", false), ("skills/a/x\u{0}y", false),
        ("skills/-a/x", false), ("skills/a-/x", false), ("skills/a--b/x", false), ("skills/a_b/x", false),
        ("skills/a.b/x", false), ("skills/ä/x", false), ("other/a/x", false), ("skills", false), ("", false),
        ("Skills/a/x", false), ("skills/.flotilla-stage-a/x", false),
    ])
    func releasePaths(_ path: String, _ safe: Bool) {
        #expect(ReleasePath.isSafe(path) == safe)
    }

    @Test func configMergeKeepsUserKeysAndDropsStaleOwnedOnes() throws {
        func json(_ text: String) throws -> JSONValue { try JSONParser().parse(Array(text.utf8)) }
        func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }
        let existing = try json(#"{"version":3,"agents":{"defaults":{"model":"old","temperature":0.7},"list":[1]},"model_list":[{"a":1}],"user":{"x":1},"gone":{"only":1}}"#)
        let previous = try json(#"{"agents":{"defaults":{"model":"m1","max_tokens":5},"list":[2]},"model_list":[{"b":2}],"gone":{"only":1},"scalar":1}"#)
        let next = try json(#"{"agents":{"defaults":{"model":"m2"}},"tools":{"web":true},"user":"replaced"}"#)
        let merged = ConfigMerge.merged(existing: existing, previous: previous, next: next)
        // model_list merges by model_name: the user's entries (here one without a name) stay.
        #expect(text(merged) == #"{"version":3,"agents":{"defaults":{"model":"m2","temperature":0.7}},"model_list":[{"a":1}],"user":"replaced","tools":{"web":true}}"#)
        // No previous release, no file: just the release's keys.
        #expect(text(ConfigMerge.merged(existing: .object([]), previous: .object([]), next: next)) == text(next))
        // An owned object that now holds a user key survives, without the owned key.
        let kept = ConfigMerge.merged(existing: try json(#"{"a":{"owned":1,"mine":2}}"#), previous: try json(#"{"a":{"owned":1}}"#),
                                      next: .object([]))
        #expect(text(kept) == #"{"a":{"mine":2}}"#)
    }

    @Test func modelListMergesByModelName() throws {
        func json(_ text: String) throws -> JSONValue { try JSONParser().parse(Array(text.utf8)) }
        func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }
        let existing = try json(#"{"model_list":[{"model_name":"mine","model":"llama3"},{"model_name":"gw-old","model":"x"},{"model_name":"gw","model":"user-copy"}]}"#)
        let previous = try json(#"{"model_list":[{"model_name":"gw-old","model":"x"},{"model_name":"gw","model":"v1"}]}"#)
        let next = try json(#"{"model_list":[{"model_name":"gw","model":"v2"},{"model_name":"gw-new","model":"y"}]}"#)
        // The user's entry stays, the release's replace theirs by name, one it no longer sets goes.
        #expect(text(ConfigMerge.merged(existing: existing, previous: previous, next: next))
                == #"{"model_list":[{"model_name":"mine","model":"llama3"},{"model_name":"gw","model":"v2"},{"model_name":"gw-new","model":"y"}]}"#)
        // A release without models takes its own away and leaves the user's.
        #expect(text(ConfigMerge.merged(existing: existing, previous: previous, next: .object([])))
                == #"{"model_list":[{"model_name":"mine","model":"llama3"}]}"#)
        // Nothing of the user's left: the key goes, as it was before the first release.
        #expect(text(ConfigMerge.merged(existing: previous, previous: previous, next: .object([]))) == "{}")
    }

    @Test func prettyJSONIsIndentedAndReadsBack() throws {
        let value = try JSONParser().parse(Array(#"{"a":[1,{"b":"c"}],"e":{},"f":[],"g":-0.5}"#.utf8))
        let pretty = String(decoding: JSONWriter.encodePretty(value), as: UTF8.self)
        #expect(pretty == "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ],\n  \"e\": {},\n  \"f\": [],\n  \"g\": -0.5\n}\n")
        #expect(JSONWriter.encode(try JSONParser().parse(Array(pretty.utf8))) == JSONWriter.encode(value))
    }

    @Test func rootPublicKeyFromNodeConfToStateDirectory() throws {
        func conf(_ key: String?) -> [UInt8] {
            var members = [JSONMember("coordinator_url", .string("https://c:7443")), JSONMember("ca_pem", .string("x")),
                           JSONMember("ca_sha256", .string(String(repeating: "0", count: 64))), JSONMember("token", .string("t"))]
            if let key { members.append(JSONMember("root_public_key", .string(key))) }
            return JSONWriter.encode(.object(members))
        }
        let key = TestKey(5)
        #expect(try NodeConfig(bytes: conf(key.base64)).rootPublicKey == key.base64)
        #expect(try NodeConfig(bytes: conf(nil)).rootPublicKey == nil)
        for bad in ["", "AAAA", Data(repeating: 1, count: 31).base64EncodedString(), key.base64 + "\n"] {
            #expect(throws: NodeError.self, "\(bad)") { try NodeConfig(bytes: conf(bad)) }
        }

        let directory = try TestSupport.temporaryDirectory()
        let state = NodeState(directory: directory)
        let identity = NodeIdentity(nodeID: "n", name: "b", group: "g", coordinatorURL: "https://c:7443")
        try state.storeEnrollment(keyPEM: [1], certificatePEM: [2], caPEM: [3], identity: identity, rootPublicKey: key.base64)
        #expect(try state.loadRootPublicKey() == key.publicKey)
        try state.storeEnrollment(keyPEM: [1], certificatePEM: [2], caPEM: [3], identity: identity)
        #expect(try state.loadRootPublicKey() == nil, "a re-enrollment without a key leaves none behind")
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: state.rootPublicKeyPath))
        #expect(throws: NodeError.self) { try state.loadRootPublicKey() }
    }

    @Test func makeDirectoriesSetsTheExactModeOnWhatItCreates() throws {
        let directory = try TestSupport.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory + "/kept", withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        // 0o777 is never what mkdir alone gives under the usual umask, so this shows the chmod.
        try FileTree.makeDirectories(directory + "/kept/a/b", mode: 0o777)
        #expect(try FileIO.mode(of: directory + "/kept/a") == 0o777)
        #expect(try FileIO.mode(of: directory + "/kept/a/b") == 0o777)
        #expect(try FileIO.mode(of: directory + "/kept") == 0o700, "existing directories are left alone")
        try Data().write(to: URL(fileURLWithPath: directory + "/file"))
        #expect(throws: NodeError.self) { try FileTree.makeDirectories(directory + "/file", mode: 0o755) }
    }
}
