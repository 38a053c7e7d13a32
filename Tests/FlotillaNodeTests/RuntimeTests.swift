import Foundation
import Testing
@testable import FlotillaNode

/// The command runtime against real shell commands, and the plain-HTTP client the PicoClaw
/// runtime uses (PicoClawRuntimeTests has the PicoClaw stand-in).
@Suite("Command runtime and the plain-HTTP client")
struct RuntimeTests {
    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    /// A plain HTTP server for the client tests: `/big` is 100,000 bytes, `/loading` answers 503
    /// as llama-server's `/health` does while its model loads, `POST /reload` checks a bearer token.
    static let server = #"""
        import http.server, os, signal, sys
        # Test runner threads may hand down a mask blocking SIGTERM; be stoppable regardless.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
        token, port_file = sys.argv[1], sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = self.path == "/reload" and self.headers.get("Authorization") == "Bearer " + token
                self.reply(200 if ok else 401, b"{}")
            def do_GET(self):
                if self.path == "/loading":
                    self.reply(503, b'{"error": {"code": 503, "message": "Loading model"}}')
                else:
                    self.reply(200, b"x" * 100000 if self.path == "/big" else b"{}")
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_port))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    /// A running test server; `stop()` ends it.
    final class Server {
        let process = Process()
        let port: Int

        init(directory: String, token: String) throws {
            let script = directory + "/server.py"
            try RuntimeTests.server.write(toFile: script, atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, token, directory + "/port"]
            try process.run()
            var port: Int?
            for _ in 0..<200 where port == nil {
                port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) }
                if port == nil { usleep(25_000) }
            }
            guard let port else { throw TestFailure(message: "server did not start") }
            self.port = port
        }

        /// SIGKILL: cannot be blocked by a signal mask inherited from the test runner's thread.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test func commandRuntimeOutcomes() throws {
        let workspace = try TestSupport.temporaryDirectory()
        guard case .skipped = CommandRuntime(workspace: workspace).reloadAndCheck() else { Issue.record("no health command"); return }
        guard case .passed = CommandRuntime(workspace: workspace, reloadCommand: "true", healthCommand: "exit 0").reloadAndCheck() else {
            Issue.record("healthy"); return
        }
        guard case .failed(let health) = CommandRuntime(workspace: workspace, healthCommand: "exit 3").reloadAndCheck() else {
            Issue.record("exit 3 passed"); return
        }
        #expect(health == "health command exited with status 3")
        guard case .failed(let reload) = CommandRuntime(workspace: workspace, reloadCommand: "false", healthCommand: "true").reloadAndCheck() else {
            Issue.record("failed reload passed"); return
        }
        #expect(reload.hasPrefix("reload command"))
        // Commands run through /bin/sh -c in the agent's environment.
        let marker = workspace + "/ran"
        _ = CommandRuntime(workspace: workspace, reloadCommand: "echo reloaded > '\(marker)'").reloadAndCheck()
        #expect(try String(contentsOfFile: marker, encoding: .utf8) == "reloaded\n")
        let slow = CommandRuntime(workspace: workspace, healthCommand: "sleep 5")
        slow.timeoutMilliseconds = 300
        let started = Date()
        guard case .failed(let timeout) = slow.reloadAndCheck() else { Issue.record("timeout passed"); return }
        #expect(timeout == "health command timed out")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(CommandRuntime(workspace: workspace).configPath == workspace + "/flotilla-config.json")
    }

    @Test(.enabled(if: hasPython)) func plainHTTPGetIsCappedAndSwitchesMethods() throws {
        let directory = try TestSupport.temporaryDirectory()
        let gateway = try Server(directory: directory, token: "t")
        defer { gateway.stop() }
        let client = try HTTPClient(tls: nil, timeoutSeconds: 5)
        let base = "http://127.0.0.1:\(gateway.port)"
        do {
            _ = try client.get(base + "/big", maxBytes: 99_999)
            Issue.record("oversized body accepted")
        } catch {
            #expect(error.code == "response_too_large")
        }
        #expect(try client.get(base + "/big", maxBytes: 100_000).body.count == 100_000)
        // GET, POST and GET again on one handle: each uses its own method.
        #expect(try client.post(base + "/reload", body: Array("{}".utf8), header: "Authorization: Bearer t").status == 200)
        #expect(try client.get(base + "/small", maxBytes: 1000).status == 200)
        #expect(try client.post(base + "/reload", body: [UInt8]("{}".utf8)).status == 401, "the extra header was per request")
        #expect(throws: NodeError.self) { try client.get("https://127.0.0.1:\(gateway.port)/health", maxBytes: 10) }
    }
}
