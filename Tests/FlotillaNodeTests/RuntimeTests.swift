import Foundation
import Testing
@testable import FlotillaNode

/// The runtime adapters against real processes: shell commands, and a stand-in PicoClaw gateway
/// (a small Python HTTP server speaking /reload and /health) for the picoclaw adapter.
@Suite("Runtime adapters and the plain-HTTP client")
struct RuntimeTests {
    static let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    static let gateway = #"""
        import http.server, json, os, signal, sys
        # Test runner threads may hand down a mask blocking SIGTERM; be stoppable regardless.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
        token, port_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = self.path == "/reload" and self.headers.get("Authorization") == "Bearer " + token
                self.reply(200 if ok else 401, b'{"status":"reloading"}' if ok else b'{"error":"unauthorized"}')
            def do_GET(self):
                if self.path == "/health":
                    status = "ok" if mode == "ok" else "degraded"
                    self.reply(200, json.dumps({"status": status, "uptime": 3, "pid": os.getpid()}).encode())
                elif self.path == "/big":
                    self.reply(200, b"x" * 100000)
                else:
                    self.reply(404, b"{}")
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_port))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#

    /// A running stand-in gateway; `stop()` ends it.
    final class Gateway {
        let process = Process()
        let port: Int

        init(directory: String, token: String, mode: String) throws {
            let script = directory + "/gateway.py"
            try RuntimeTests.gateway.write(toFile: script, atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, token, directory + "/port", mode]
            try process.run()
            var port: Int?
            for _ in 0..<200 where port == nil {
                port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) }
                if port == nil { usleep(25_000) }
            }
            guard let port else { throw TestFailure(message: "gateway did not start") }
            self.port = port
        }

        /// SIGKILL: cannot be blocked by a signal mask inherited from the test runner's thread.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func pidFile(home: String, pid: Int32, token: String, port: Int) throws {
        let json = #"{"pid": \#(pid), "token": "\#(token)", "version": "0.2.9", "port": \#(port), "host": "0.0.0.0"}"#
        try json.write(toFile: home + "/.picoclaw.pid", atomically: true, encoding: .utf8)
    }

    @Test(.enabled(if: hasPython)) func picoclawReloadsWithTheTokenAndChecksHealth() throws {
        let home = try TestSupport.temporaryDirectory()
        let gateway = try Gateway(directory: home, token: "s3cret", mode: "ok")
        defer { gateway.stop() }
        var runtime = PicoClawRuntime(workspace: home + "/workspace")
        #expect(runtime.home == home)
        #expect(runtime.configPath == home + "/config.json")

        try pidFile(home: home, pid: gateway.process.processIdentifier, token: "s3cret", port: gateway.port)
        guard case .passed = runtime.reloadAndCheck() else { Issue.record("not passed"); return }

        try pidFile(home: home, pid: gateway.process.processIdentifier, token: "wrong", port: gateway.port)
        guard case .failed(let reason) = runtime.reloadAndCheck() else { Issue.record("wrong token accepted"); return }
        #expect(reason.contains("401"))
        #expect(!reason.contains("wrong"), "the token never appears in messages")

        // Alive pid, nothing listening: reload fails.
        try pidFile(home: home, pid: getpid(), token: "s3cret", port: 1)
        runtime.healthTimeoutMilliseconds = 500
        guard case .failed = runtime.reloadAndCheck() else { Issue.record("reload without a gateway passed"); return }
    }

    @Test(.enabled(if: hasPython)) func picoclawNotHealthyInTimeFails() throws {
        let home = try TestSupport.temporaryDirectory()
        let gateway = try Gateway(directory: home, token: "t", mode: "degraded")
        defer { gateway.stop() }
        try pidFile(home: home, pid: gateway.process.processIdentifier, token: "t", port: gateway.port)
        var runtime = PicoClawRuntime(workspace: home + "/workspace", home: home)
        runtime.healthTimeoutMilliseconds = 600
        let started = Date()
        guard case .failed(let reason) = runtime.reloadAndCheck() else { Issue.record("degraded gateway passed"); return }
        #expect(reason.contains("status ok"))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func picoclawNotRunningIsSkipped() throws {
        let home = try TestSupport.temporaryDirectory()
        let runtime = PicoClawRuntime(workspace: home + "/workspace")
        guard case .skipped = runtime.reloadAndCheck() else { Issue.record("no pid file"); return }
        // A pid that cannot exist.
        try pidFile(home: home, pid: 999_999_999, token: "t", port: 1)
        guard case .skipped = runtime.reloadAndCheck() else { Issue.record("dead pid"); return }
        try "not json".write(toFile: home + "/.picoclaw.pid", atomically: true, encoding: .utf8)
        guard case .skipped = runtime.reloadAndCheck() else { Issue.record("garbage pid file"); return }
    }

    @Test func urlHosts() {
        #expect(PicoClawRuntime.urlHost("") == "127.0.0.1")
        #expect(PicoClawRuntime.urlHost("0.0.0.0") == "127.0.0.1")
        #expect(PicoClawRuntime.urlHost("::") == "[::1]")
        #expect(PicoClawRuntime.urlHost("::1") == "[::1]")
        #expect(PicoClawRuntime.urlHost("localhost") == "localhost")
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
        var slow = CommandRuntime(workspace: workspace, healthCommand: "sleep 5")
        slow.timeoutMilliseconds = 300
        let started = Date()
        guard case .failed(let timeout) = slow.reloadAndCheck() else { Issue.record("timeout passed"); return }
        #expect(timeout == "health command timed out")
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(CommandRuntime(workspace: workspace).configPath == workspace + "/flotilla-config.json")
    }

    @Test(.enabled(if: hasPython)) func plainHTTPGetIsCappedAndSwitchesMethods() throws {
        let directory = try TestSupport.temporaryDirectory()
        let gateway = try Gateway(directory: directory, token: "t", mode: "ok")
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
        #expect(try client.get(base + "/health", maxBytes: 1000).status == 200)
        #expect(try client.post(base + "/reload", body: [UInt8]("{}".utf8)).status == 401, "the extra header was per request")
        #expect(throws: NodeError.self) { try client.get("https://127.0.0.1:\(gateway.port)/health", maxBytes: 10) }
    }
}
