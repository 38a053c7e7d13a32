import Foundation
import Testing
@testable import FlotillaNode

@Suite("State directory, atomic files, command line")
struct StateTests {
    @Test func atomicWriteSetsModeAndLeavesNoTemporary() throws {
        let directory = try TestSupport.temporaryDirectory()
        let path = directory + "/key.pem"
        let previous = umask(0)
        defer { umask(previous) }
        try FileIO.writeAtomically(path, Array("secret".utf8), mode: 0o600)
        #expect(try FileIO.mode(of: path) == 0o600)
        #expect(try FileIO.read(path) == Array("secret".utf8))
        try FileIO.writeAtomically(path, Array("replaced".utf8), mode: 0o600)
        #expect(try FileIO.read(path) == Array("replaced".utf8))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["key.pem"])
    }

    @Test func makeDirectoryUses0700() throws {
        let directory = try TestSupport.temporaryDirectory() + "/state"
        try FileIO.makeDirectory(directory, mode: 0o700)
        #expect(try FileIO.mode(of: directory) == 0o700)
        try FileIO.makeDirectory(directory, mode: 0o700)
    }

    @Test func readLimitAndMissingFile() throws {
        let directory = try TestSupport.temporaryDirectory()
        try FileIO.writeAtomically(directory + "/big", [UInt8](repeating: 65, count: 10_000), mode: 0o644)
        #expect(throws: NodeError.self) { try FileIO.read(directory + "/big", maxBytes: 9_999) }
        do {
            _ = try FileIO.read(directory + "/missing")
            Issue.record("missing file read")
        } catch {
            #expect(error.code == "io_error")
            #expect(error.message.contains("No such file"))
        }
    }

    @Test func enrollmentIdentityRoundTripAndAlreadyEnrolled() throws {
        let directory = try TestSupport.temporaryDirectory()
        let state = NodeState(directory: directory)
        #expect(!state.isEnrolled)
        let identity = NodeIdentity(nodeID: "id-1", name: "board-01", group: "edge", coordinatorURL: "https://c:7443")
        #expect(try state.gatewayKeyID() == nil)
        try state.storeEnrollment(keyPEM: Array("k".utf8), certificatePEM: Array("c".utf8),
                                  caPEM: Array("a".utf8), identity: identity, gatewayKey: "abc")
        #expect(state.isEnrolled)
        #expect(try FileIO.mode(of: state.keyPath) == 0o600)
        #expect(try FileIO.mode(of: state.gatewayKeyPath) == 0o600)
        #expect(try FileIO.read(state.gatewayKeyPath) == Array("abc".utf8))
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        #expect(try state.gatewayKeyID() == "ba7816bf8f01cfea")
        let loaded = try state.loadIdentity()
        #expect(loaded.nodeID == "id-1")
        #expect(loaded.name == "board-01")
        #expect(loaded.group == "edge")
        #expect(loaded.coordinatorURL == "https://c:7443")

        let conf = try TestSupport.fixture("node-conf.json")
        try Data(conf).write(to: URL(fileURLWithPath: directory + "/node.conf"))
        let pem = try TestSupport.makeCertificate(in: directory)
        let sha = try Certificate(pem: Array(pem.utf8)).sha256Hex()
        let realConf = JSONWriter.encode(.object([
            JSONMember("coordinator_url", .string("https://127.0.0.1:1")),
            JSONMember("ca_pem", .string(pem)), JSONMember("ca_sha256", .string(sha)),
            JSONMember("token", .string("t")),
        ]))
        try Data(realConf).write(to: URL(fileURLWithPath: directory + "/node.conf"))
        let status = NodeCommand.run([Array("enroll".utf8), Array("--config".utf8), Array((directory + "/node.conf").utf8),
                                      Array("--state-dir".utf8), Array(directory.utf8), Array("--name".utf8), Array("b".utf8)])
        #expect(status == 3)
    }

    @Test func renewalSwapAndCrashRecovery() throws {
        let directory = try TestSupport.temporaryDirectory()
        let state = NodeState(directory: directory)
        try FileIO.writeAtomically(state.keyPath, Array("old-key".utf8), mode: 0o600)
        try FileIO.writeAtomically(state.certificatePath, Array("old-cert".utf8), mode: 0o644)

        try state.installRenewal(keyPEM: Array("new-key".utf8), certificatePEM: Array("new-cert".utf8))
        #expect(try FileIO.read(state.keyPath) == Array("new-key".utf8))
        #expect(try FileIO.read(state.certificatePath) == Array("new-cert".utf8))
        #expect(try FileIO.mode(of: state.keyPath) == 0o600)
        #expect(!FileIO.exists(directory + "/key.pem.new") && !FileIO.exists(directory + "/cert.pem.new"))

        try FileIO.writeSynced(directory + "/key.pem.new", Array("half-key".utf8), mode: 0o600)
        #expect(try state.recoverStagedRenewal() == false)
        #expect(try FileIO.read(state.keyPath) == Array("new-key".utf8))
        #expect(!FileIO.exists(directory + "/key.pem.new"))

        try FileIO.writeSynced(directory + "/key.pem.new", Array("k3".utf8), mode: 0o600)
        try FileIO.writeSynced(directory + "/cert.pem.new", Array("c3".utf8), mode: 0o644)
        #expect(try state.recoverStagedRenewal() == true)
        #expect(try FileIO.read(state.keyPath) == Array("k3".utf8))
        #expect(try FileIO.read(state.certificatePath) == Array("c3".utf8))

        try FileIO.rename(state.keyPath, directory + "/unused")
        try FileIO.writeAtomically(state.keyPath, Array("k4".utf8), mode: 0o600)
        try FileIO.writeSynced(directory + "/cert.pem.new", Array("c4".utf8), mode: 0o644)
        #expect(try state.recoverStagedRenewal() == true)
        #expect(try FileIO.read(state.keyPath) == Array("k4".utf8))
        #expect(try FileIO.read(state.certificatePath) == Array("c4".utf8))
    }

    @Test func commandLineParsing() throws {
        func parse(_ words: [String]) throws(NodeError) -> Command { try Command.parse(words.map { Array($0.utf8) }) }
        if case .enroll(let config, let dir, let name) = try parse(["enroll", "--config", "n.conf", "--state-dir", "/s", "--name", "b1"]) {
            #expect(config == "n.conf" && dir == "/s" && name == "b1")
        } else { Issue.record("enroll not parsed") }
        if case .enroll(_, _, let name) = try parse(["enroll", "--state-dir", "/s", "--config", "c"]) {
            #expect(name == nil)
        } else { Issue.record("enroll without name not parsed") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s", "--once"]) {
            #expect(options.stateDirectory == "/s" && options.once && options.runtime == nil)
        } else { Issue.record("run not parsed") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s"]) { #expect(!options.once) } else { Issue.record("run") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s", "--runtime", "picoclaw", "--workspace", "/home/pi/.picoclaw/workspace/"]),
           case .picoclaw(let runtime)? = options.runtime {
            #expect(runtime.workspace == "/home/pi/.picoclaw/workspace")
            #expect(runtime.home == "/home/pi/.picoclaw")
            #expect(runtime.configPath == "/home/pi/.picoclaw/config.json")
        } else { Issue.record("picoclaw runtime not parsed") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s", "--runtime", "picoclaw", "--workspace", "/w",
                                               "--picoclaw-home", "/etc/pc"]),
           case .picoclaw(let runtime)? = options.runtime {
            #expect(runtime.home == "/etc/pc")
        } else { Issue.record("picoclaw home not parsed") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s", "--runtime", "picoclaw", "--picoclaw-home", "/h/",
                                               "--picoclaw-config", "/etc/pc/config.json", "--picoclaw-restart", "systemctl restart picoclaw"]),
           case .picoclaw(let runtime)? = options.runtime {
            #expect(runtime.home == "/h" && runtime.configPath == "/etc/pc/config.json" && runtime.workspace == "/h/workspace")
            #expect(runtime.restartCommand == "systemctl restart picoclaw")
        } else { Issue.record("picoclaw config and restart not parsed") }
        if case .run(let options) = try parse(["run", "--state-dir", "/s", "--runtime", "command", "--workspace", "/w",
                                               "--reload-command", "systemctl reload x", "--health-command", "true"]),
           case .command(let runtime)? = options.runtime {
            #expect(runtime.workspace == "/w" && runtime.reloadCommand == "systemctl reload x" && runtime.healthCommand == "true")
            #expect(runtime.configPath == "/w/flotilla-config.json")
        } else { Issue.record("command runtime not parsed") }
        if case .version = try parse(["version"]) {} else { Issue.record("version not parsed") }
        for bad in [[], ["bogus"], ["run"], ["run", "--state-dir"], ["run", "--state-dir", "/s", "--name", "x"],
                    ["enroll", "--config", "c"], ["version", "--once"], ["run", "--state-dir", "/s", "--verbose"],
                    ["run", "--state-dir", "/s", "--runtime", "command"], ["run", "--state-dir", "/s", "--workspace", "/w"],
                    ["run", "--state-dir", "/s", "--picoclaw-restart", "x"],
                    ["run", "--state-dir", "/s", "--runtime", "docker", "--workspace", "/w"],
                    ["run", "--state-dir", "/s", "--runtime", "picoclaw", "--workspace", "/w", "--health-command", "true"],
                    ["run", "--state-dir", "/s", "--runtime", "command", "--workspace", "/w", "--picoclaw-home", "/h"],
                    ["enroll", "--config", "c", "--state-dir", "/s", "--runtime", "command", "--workspace", "/w"]] {
            do {
                _ = try parse(bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.exitStatus == 2, "\(bad)")
            }
        }
        #expect(NodeCommand.run([Array("nope".utf8)]) == 2)
    }

    @Test(arguments: [("board-01", true), ("a", true), ("9.x_y-z", true), ("", false), ("-lead", false),
                      (".lead", false), ("has space", false), ("ümlaut", false), (String(repeating: "a", count: 63), true),
                      (String(repeating: "a", count: 64), false)])
    func nodeNames(_ name: String, _ valid: Bool) {
        #expect(NodeName.isValid(name) == valid)
    }

    @Test func logLinesAreLogfmt() {
        let line = String(decoding: Log.line(.info, "heartbeat ok", [("seq", "3"), ("detail", "a \"b\"\nc"), ("empty", "")], time: 1700000000), as: UTF8.self)
        #expect(line == "ts=1700000000 level=info msg=\"heartbeat ok\" seq=3 detail=\"a \\\"b\\\"\\nc\" empty=\"\"\n")
    }
}
