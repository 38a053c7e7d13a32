import Foundation
import Testing
@testable import FlotillaNode

/// `flotilla-node run --once` against a stand-in coordinator (a Python HTTPS server requiring the
/// node's client certificate): heartbeat, non-waiting release poll, trust, blobs, reports, `seen`.
@Suite(.serialized) struct AgentReleaseTests {
    static let hasTools = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    static let coordinator = #"""
        import hashlib, http.server, json, os, signal, ssl, sys
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
        root = sys.argv[1]
        def read(name):
            path = os.path.join(root, name)
            return open(path, "rb").read() if os.path.exists(path) else None
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def reply(self, code, body=b""):
                self.send_response(code)
                if code != 204:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if code != 204:
                    self.wfile.write(body)
            def log(self):
                with open(os.path.join(root, "requests.log"), "a") as f:
                    f.write(self.command + " " + self.path + "\n")
            def do_POST(self):
                self.log()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/heartbeat":
                    answer = {"status": "active", "heartbeat_interval_seconds": 1, "renew_certificate": False,
                              "server_time": "2026-11-24T10:00:00Z"}
                    key = read("gateway-key")
                    if key is not None:
                        answer["gateway_key_id"] = hashlib.sha256(key).hexdigest()[:16] if key else None
                    self.reply(200, json.dumps(answer).encode())
                elif self.path == "/v1/gateway-key":
                    key = read("gateway-key")
                    self.reply(200, json.dumps({"gateway_key": key.decode(),
                                                "gateway_key_id": hashlib.sha256(key).hexdigest()[:16]}).encode())
                elif self.path == "/v1/release/report":
                    with open(os.path.join(root, "reports.jsonl"), "ab") as f:
                        f.write(body + b"\n")
                    self.reply(200, b"{}")
                else:
                    self.reply(404, b'{"error":{"code":"not_found","message":"no"}}')
            def do_GET(self):
                self.log()
                if self.path.startswith("/v1/release?"):
                    query = dict(part.split("=", 1) for part in self.path.split("?", 1)[1].split("&"))
                    envelope = read("release.json")
                    if envelope is not None and hashlib.sha256(envelope).hexdigest() != query.get("seen"):
                        self.reply(200, envelope)
                    else:
                        self.reply(204)
                elif self.path == "/v1/trust":
                    self.reply(200, read("trust.json"))
                elif self.path.startswith("/v1/blobs/"):
                    blob = read("blobs/" + self.path[len("/v1/blobs/"):])
                    self.reply(200, blob) if blob is not None else self.reply(404, b'{"error":{"code":"not_found","message":"no such blob on this coordinator"}}')
                else:
                    self.reply(404, b"{}")
            def log_message(self, *args):
                pass
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(root, "server.pem"), os.path.join(root, "server.key"))
        context.load_verify_locations(os.path.join(root, "ca.pem"))
        context.verify_mode = ssl.CERT_REQUIRED
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        with open(os.path.join(root, "port.tmp"), "w") as f:
            f.write(str(server.server_port))
        os.rename(os.path.join(root, "port.tmp"), os.path.join(root, "port"))
        server.serve_forever()
        """#

    /// A stand-in coordinator in `directory` (which also receives its requests and reports).
    final class Coordinator {
        let directory: String
        let process = Process()
        let port: Int

        init(directory: String) throws {
            self.directory = directory
            let openssl: [[String]] = [
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                 "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test Fleet CA"],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
                 "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
                ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "client.key",
                 "-out", "client.csr", "-subj", "/CN=board-01"],
                ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "client.pem", "-days", "2", "-extfile", "client.ext"],
            ]
            try "subjectAltName=IP:127.0.0.1\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
            try "extendedKeyUsage=clientAuth\n".write(toFile: directory + "/client.ext", atomically: true, encoding: .utf8)
            for arguments in openssl {
                let result = try TestSupport.run(["openssl"] + arguments, in: directory)
                guard result.status == 0 else { throw TestFailure(message: result.output) }
            }
            try AgentReleaseTests.coordinator.write(toFile: directory + "/coordinator.py", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [directory + "/coordinator.py", directory]
            try process.run()
            var port: Int?
            for _ in 0..<400 where port == nil {
                port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) }
                if port == nil { usleep(25_000) }
            }
            guard let port else { throw TestFailure(message: "coordinator did not start") }
            self.port = port
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        var requests: [String] {
            ((try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        var reports: [JSONValue] {
            let text = (try? String(contentsOfFile: directory + "/reports.jsonl", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONParser().parse(Array($0.utf8)) }
        }

        /// A state directory enrolled with this coordinator's client identity, without a root key.
        func enrolledState() throws -> String {
            let state = directory + "/state"
            try FileIO.makeDirectory(state, mode: 0o700)
            try NodeState(directory: state).storeEnrollment(
                keyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/client.key"))),
                certificatePEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/client.pem"))),
                caPEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/ca.pem"))),
                identity: NodeIdentity(nodeID: "n-1", name: "board-01", group: "demo", coordinatorURL: "https://127.0.0.1:\(port)"))
            return state
        }

        func serve(release: TestRelease, signedBy keys: [TestKey], roots: [JSONValue]) throws -> [UInt8] {
            try FileManager.default.createDirectory(atPath: directory + "/blobs", withIntermediateDirectories: true)
            for file in release.files {
                try Data(file.content).write(to: URL(fileURLWithPath: directory + "/blobs/" + file.sha256))
            }
            try Data(Envelopes.trust(roots)).write(to: URL(fileURLWithPath: directory + "/trust.json"))
            let body = release.envelope(signedBy: keys)
            try Data(body).write(to: URL(fileURLWithPath: directory + "/release.json"))
            return body
        }
    }

    @Test(.enabled(if: hasTools)) func runOncePollsAppliesReportsAndRemembersSeen() throws {
        let directory = try TestSupport.temporaryDirectory()
        let coordinator = try Coordinator(directory: directory)
        defer { coordinator.stop() }
        let state = directory + "/state"
        try FileIO.makeDirectory(state, mode: 0o700)
        let workspace = directory + "/workspace"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let root = TestKey(1), signing = TestKey(2)
        try NodeState(directory: state).storeEnrollment(
            keyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/client.key"))),
            certificatePEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/client.pem"))),
            caPEM: Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/ca.pem"))),
            identity: NodeIdentity(nodeID: "n-1", name: "board-01", group: "demo", coordinatorURL: "https://127.0.0.1:\(coordinator.port)"),
            rootPublicKey: root.base64)
        let roots = [Envelopes.root(version: 1, rootKey: root, signingKeys: [signing], signers: [root])]
        let release = TestRelease(version: 1, files: [TestFile("skills/node-health/SKILL.md", "---\nname: node-health\n---\n"),
                                                      TestFile("skills/node-health/scripts/report.sh", "#!/bin/sh\n", mode: 0o755)],
                                  runtimeConfig: .object([JSONMember("model", .string("m"))]))
        let body = try coordinator.serve(release: release, signedBy: [signing], roots: roots)
        let arguments = ["run", "--state-dir", state, "--once", "--runtime", "command", "--workspace", workspace,
                         "--health-command", "test -f '\(workspace)/skills/node-health/SKILL.md'"]

        #expect(NodeCommand.run(arguments.map { Array($0.utf8) }) == 0)

        let zeros = String(repeating: "0", count: 64)
        let sha = try SHA256.hex(body)
        #expect(coordinator.requests.first == "POST /v1/heartbeat")
        #expect(coordinator.requests.contains("GET /v1/release?seen=\(zeros)&wait=0"))
        #expect(coordinator.requests.contains("GET /v1/trust"))
        #expect(coordinator.requests.contains("GET /v1/blobs/\(release.files[1].sha256)"))
        #expect(coordinator.reports.map { $0["status"]?.stringValue } == ["downloading", "applied"])
        #expect(coordinator.reports.last?["health"]?.stringValue == "passed")
        #expect(coordinator.reports.last?["version"]?.intValue == 1)
        #expect(try String(contentsOfFile: workspace + "/skills/node-health/SKILL.md", encoding: .utf8) == "---\nname: node-health\n---\n")
        #expect(FileManager.default.isExecutableFile(atPath: workspace + "/skills/node-health/scripts/report.sh"))
        #expect(try String(contentsOfFile: workspace + "/flotilla-config.json", encoding: .utf8) == "{\n  \"model\": \"m\"\n}\n")
        #expect(ReleaseStore(directory: state).seen() == sha)

        // Next run: the poll carries `seen`, gets 204, nothing is reported.
        #expect(NodeCommand.run(arguments.map { Array($0.utf8) }) == 0)
        #expect(coordinator.requests.last == "GET /v1/release?seen=\(sha)&wait=0")
        #expect(coordinator.reports.count == 2)

        // A release signed by a stranger is refused and reported; the workspace stays.
        let image = try TreeImage.of(workspace)
        var next = release
        next.version = 2
        next.files[0] = TestFile("skills/node-health/SKILL.md", "evil\n")
        let evil = try coordinator.serve(release: next, signedBy: [TestKey(66)], roots: roots)
        #expect(NodeCommand.run(arguments.map { Array($0.utf8) }) == 0)
        #expect(coordinator.reports.last?["status"]?.stringValue == "failed")
        #expect(coordinator.reports.last?["error_code"]?.stringValue == "bad_signature")
        #expect(try TreeImage.of(workspace) == image)
        #expect(ReleaseStore(directory: state).seen() == (try SHA256.hex(evil)))
        #expect(!coordinator.requests.contains { $0.hasPrefix("GET /v1/blobs/\(next.files[0].sha256)") })
    }

    /// A blob the coordinator answers 404 for (with an error body longer than the file) is a
    /// retryable `download_failed`, not a final `hash_mismatch`: once the blob is there, the same
    /// envelope applies.
    @Test(.enabled(if: hasTools)) func aMissingBlobIsRetriedNotRefused() throws {
        let directory = try TestSupport.temporaryDirectory()
        let coordinator = try Coordinator(directory: directory)
        defer { coordinator.stop() }
        let state = try coordinator.enrolledState()
        let root = TestKey(1), signing = TestKey(2)
        try Data(root.base64.utf8).write(to: URL(fileURLWithPath: state + "/root-public-key"))
        let workspace = directory + "/workspace"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let release = TestRelease(version: 1, files: [TestFile("skills/tiny/SKILL.md", "x")])
        let body = try coordinator.serve(release: release, signedBy: [signing],
                                         roots: [Envelopes.root(version: 1, rootKey: root, signingKeys: [signing], signers: [root])])
        try FileManager.default.removeItem(atPath: directory + "/blobs/" + release.files[0].sha256)
        let arguments = ["run", "--state-dir", state, "--once", "--runtime", "command", "--workspace", workspace].map { Array($0.utf8) }

        #expect(NodeCommand.run(arguments) == 0)
        #expect(coordinator.reports.last?["status"]?.stringValue == "failed")
        #expect(coordinator.reports.last?["error_code"]?.stringValue == "download_failed")
        #expect(ReleaseStore(directory: state).seen() != (try SHA256.hex(body)), "not remembered as seen")

        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/blobs/" + release.files[0].sha256))
        #expect(NodeCommand.run(arguments) == 0)
        #expect(coordinator.reports.last?["status"]?.stringValue == "applied")
        #expect(try String(contentsOfFile: workspace + "/skills/tiny/SKILL.md", encoding: .utf8) == "x")
    }

    @Test(.enabled(if: hasTools)) func withoutRuntimeOrRootKeyNoReleaseIsFetched() throws {
        let directory = try TestSupport.temporaryDirectory()
        let coordinator = try Coordinator(directory: directory)
        defer { coordinator.stop() }
        let state = try coordinator.enrolledState()
        #expect(try NodeState(directory: state).loadRootPublicKey() == nil)
        #expect(NodeCommand.run(["run", "--state-dir", state, "--once"].map { Array($0.utf8) }) == 0)
        #expect(NodeCommand.run(["run", "--state-dir", state, "--once", "--runtime", "command", "--workspace", directory]
            .map { Array($0.utf8) }) == 0)
        #expect(coordinator.requests == ["POST /v1/heartbeat", "POST /v1/heartbeat"])
    }

    /// The node fetches its gateway key over mutual TLS when the heartbeat names a key it does not
    /// hold (none yet, or a rotation), stores it 0600, and leaves it alone while the ids match.
    @Test(.enabled(if: hasTools)) func gatewayKeyFollowsTheHeartbeatsKeyID() throws {
        let directory = try TestSupport.temporaryDirectory()
        let coordinator = try Coordinator(directory: directory)
        defer { coordinator.stop() }
        let state = try coordinator.enrolledState()
        let run = ["run", "--state-dir", state, "--once"].map { Array($0.utf8) }
        let keyFile = state + "/gateway.key"

        // A coordinator that issued no key yet (gateway_key_id: null): the node asks for one; an
        // empty answer is refused and nothing is written.
        try Data().write(to: URL(fileURLWithPath: directory + "/gateway-key"))
        #expect(NodeCommand.run(run) == 0)
        #expect(coordinator.requests == ["POST /v1/heartbeat", "POST /v1/gateway-key"])
        #expect(!FileManager.default.fileExists(atPath: keyFile))

        // The coordinator's key is now "flt_gw_first": the node stores it once, then keeps it.
        try "flt_gw_first".write(toFile: directory + "/gateway-key", atomically: true, encoding: .utf8)
        #expect(NodeCommand.run(run) == 0)
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8) == "flt_gw_first")
        #expect(try FileIO.mode(of: keyFile) == 0o600)
        #expect(NodeCommand.run(run) == 0)
        #expect(coordinator.requests.filter { $0 == "POST /v1/gateway-key" }.count == 2)

        // A rotation: the heartbeat names another key; the node fetches it within that heartbeat.
        try "flt_gw_second".write(toFile: directory + "/gateway-key", atomically: true, encoding: .utf8)
        #expect(NodeCommand.run(run) == 0)
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8) == "flt_gw_second")
        #expect(coordinator.requests.suffix(2) == ["POST /v1/heartbeat", "POST /v1/gateway-key"])
    }
}
