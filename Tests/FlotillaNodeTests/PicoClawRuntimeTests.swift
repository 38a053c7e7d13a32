import Foundation
import Testing
@testable import FlotillaNode

/// The PicoClaw runtime against the PicoClaw stand-in: a reload counts only when PicoClaw says
/// it took the config (its log, or a new process that stays up), and its own error text is what
/// a failure reports.
@Suite struct PicoClawRuntimeTests {
    /// A runtime for `standIn`'s home with short waits.
    static func runtime(_ standIn: PicoClawStandIn, restart: Bool = false) -> PicoClawRuntime {
        let runtime = PicoClawRuntime(home: standIn.home, restartCommand: restart ? standIn.restartCommand : nil)
        runtime.timeoutMilliseconds = 15_000
        runtime.quietMilliseconds = 1_500
        return runtime
    }

    @Test func pathsAreFoundTheWayPicoClawFindsThem() throws {
        let root = try TestSupport.temporaryDirectory()
        let plain = PicoClawRuntime(home: root)
        #expect(plain.configPath == root + "/config.json")
        #expect(plain.workspace == root + "/workspace")
        // The workspace the config names, `~` being the user's home.
        try #"{"version": 3, "agents": {"defaults": {"workspace": "~/boards/ws"}}}"#.write(toFile: root + "/config.json", atomically: true, encoding: .utf8)
        #expect(PicoClawRuntime(home: root).workspace == NSHomeDirectory() + "/boards/ws")
        // A config elsewhere, and --workspace over everything.
        try #"{"agents": {"defaults": {"workspace": "/srv/ws"}}}"#.write(toFile: root + "/other.json", atomically: true, encoding: .utf8)
        #expect(PicoClawRuntime(home: root, config: root + "/other.json").workspace == "/srv/ws")
        #expect(PicoClawRuntime(home: root, workspace: "/flag/ws").workspace == "/flag/ws")
        // Without a home, the parent of --workspace (the layout install.sh uses).
        #expect(PicoClawRuntime(workspace: root + "/pc/workspace").home == root + "/pc")
    }

    @Test func aMissingHomeIsAClearErrorAtStart() throws {
        let root = try TestSupport.temporaryDirectory()
        #expect(throws: Never.self) { try PicoClawRuntime(home: root).validate() }
        do {
            try PicoClawRuntime(home: root + "/nowhere").validate()
            Issue.record("missing home accepted")
        } catch {
            #expect(error.message.contains("PicoClaw home \(root)/nowhere is not a directory"))
        }
    }

    @Test func aConfigOfAnotherVersionIsRefusedBeforeAnythingChanges() throws {
        let runtime = PicoClawRuntime(home: try TestSupport.temporaryDirectory())
        let merged = JSONValue.object([JSONMember("version", .int(3))])
        #expect(runtime.refusal(merged: merged, existing: .object([])) == nil, "a new file")
        #expect(runtime.refusal(merged: merged, existing: .object([JSONMember("version", .int(3))])) == nil)
        let old = try #require(runtime.refusal(merged: merged, existing: .object([JSONMember("providers", .object([]))])))
        #expect(old.contains("is not a version-3 config"))
    }

    @Test func gatewayFilesAreWrittenBesideTheConfigAndFollowTheKey() throws {
        let root = try TestSupport.temporaryDirectory()
        let runtime = PicoClawRuntime(home: root + "/home")
        try FileManager.default.createDirectory(atPath: root + "/home", withIntermediateDirectories: true)
        try "flt_gw_one".write(toFile: root + "/gateway.key", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n".write(toFile: root + "/ca.pem", atomically: true, encoding: .utf8)
        runtime.keySource = root + "/gateway.key"
        runtime.caSource = root + "/ca.pem"
        let manifest = try ReleaseManifest(payload: JSONParser().parse(Array("""
            {"type": "release", "version": 1, "group": "g", "created_at": "2026-01-01T00:00:00Z", "expires_at": "2027-01-01T00:00:00Z",
             "files": [], "gateway_models": [{"name": "fleet-default", "api": "openai"}]}
            """.utf8)))
        #expect(manifest.hasGatewayModels)
        #expect(try runtime.installGatewayFiles(manifest))
        #expect(try String(contentsOfFile: root + "/home/flotilla-gateway.key", encoding: .utf8) == "flt_gw_one")
        #expect(try FileIO.mode(of: root + "/home/flotilla-gateway.key") == 0o600)
        #expect(try FileIO.mode(of: root + "/home/flotilla-ca/fleet-ca.pem") == 0o644)
        #expect(try runtime.installGatewayFiles(manifest) == false, "unchanged: no reload needed")
        // A rotated key is written through (PicoClaw is not running: nothing to reload).
        try "flt_gw_two".write(toFile: root + "/gateway.key", atomically: true, encoding: .utf8)
        runtime.gatewayKeyChanged()
        #expect(try String(contentsOfFile: root + "/home/flotilla-gateway.key", encoding: .utf8) == "flt_gw_two")
    }

    @Test(.enabled(if: PicoClawStandIn.available)) func aReloadPassesOnlyWhenPicoClawLoggedIt() throws {
        let standIn = try PicoClawStandIn(root: try TestSupport.temporaryDirectory(), config: nil)
        defer { standIn.stop() }
        let port = PicoClawStandIn.freePort()
        try standIn.write(PicoClawStandIn.config(port: port))
        try #require(try standIn.start())
        let runtime = Self.runtime(standIn)
        let pid = standIn.pid()

        try standIn.write(PicoClawStandIn.config(port: port, extra: #""heartbeat": {"enabled": true}"#))
        #expect(runtime.reloadAndCheck().wire == "passed")
        #expect(standIn.log().contains { $0.contains("Manual reload completed successfully") })

        // A key PicoClaw does not know: the reload fails with PicoClaw's words and the process stays.
        try standIn.write(PicoClawStandIn.config(port: port, extra: #""heartbeat": {"enabled": true, "colour": "blue"}"#))
        guard case .failed(let reason) = runtime.reloadAndCheck() else { Issue.record("an unloadable config passed"); return }
        #expect(reason == "Failed to load config: config.json contains unknown field(s): heartbeat.colour")
        #expect(standIn.pid() == pid)

        // A default model that is not in model_list: the provider cannot be created.
        try standIn.write(PicoClawStandIn.config(port: port, model: "missing"))
        guard case .failed(let provider) = runtime.reloadAndCheck() else { Issue.record("an unknown model passed"); return }
        #expect(provider.contains("model \"missing\" not found in model_list"), "\(provider)")
    }

    @Test(.enabled(if: PicoClawStandIn.available)) func aReloadAlreadyRunningIsWaitedFor() throws {
        let standIn = try PicoClawStandIn(root: try TestSupport.temporaryDirectory(), config: nil)
        defer { standIn.stop() }
        let port = PicoClawStandIn.freePort()
        try standIn.write(PicoClawStandIn.config(port: port))
        try #require(try standIn.start(reloadSeconds: 1.5))
        // Someone else's reload is queued: PicoClaw answers 500 until it is done.
        let endpoint = try #require(standIn.endpoint())
        let client = try HTTPClient(tls: nil, timeoutSeconds: 5)
        #expect(try client.post("http://127.0.0.1:\(endpoint.port)/reload", body: [], header: "Authorization: Bearer \(endpoint.token)").status == 200)
        #expect(try client.post("http://127.0.0.1:\(endpoint.port)/reload", body: [], header: "Authorization: Bearer \(endpoint.token)").status == 500)
        #expect(Self.runtime(standIn).reloadAndCheck().wire == "passed")
    }

    @Test(.enabled(if: PicoClawStandIn.available)) func belowInfoLevelAQuietReloadPasses() throws {
        let standIn = try PicoClawStandIn(root: try TestSupport.temporaryDirectory(), config: nil)
        defer { standIn.stop() }
        let port = PicoClawStandIn.freePort()
        try standIn.write(PicoClawStandIn.config(port: port, logLevel: "warn"))
        try #require(try standIn.start())
        let started = Date()
        #expect(Self.runtime(standIn).reloadAndCheck().wire == "passed")
        #expect(Date().timeIntervalSince(started) >= 1.4, "waited the quiet period")
        #expect(!standIn.log().contains { $0.contains("completed successfully") }, "nothing at info level")
    }

    @Test(.enabled(if: PicoClawStandIn.available)) func aRestartPassesOnlyWithANewProcessThatStaysUp() throws {
        let standIn = try PicoClawStandIn(root: try TestSupport.temporaryDirectory(), config: nil)
        defer { standIn.stop() }
        let port = PicoClawStandIn.freePort()
        try standIn.write(PicoClawStandIn.config(port: port))
        try #require(try standIn.start())
        let first = try #require(standIn.pid())
        let runtime = Self.runtime(standIn, restart: true)

        #expect(runtime.reloadAndCheck().wire == "passed")
        let second = try #require(standIn.pid())
        #expect(second != first)

        // The new process writes its pid file, then fails to create the provider and removes it.
        try standIn.write(PicoClawStandIn.config(port: port, model: "missing"))
        guard case .failed(let reason) = runtime.reloadAndCheck() else { Issue.record("a failed start passed"); return }
        #expect(reason.hasPrefix("Gateway startup failed: error creating provider: model \"missing\" not found"), "\(reason)")
        #expect(standIn.pid() == nil)

        // Not running, its last start failed (a crash loop): a good config is started and checked.
        try standIn.write(PicoClawStandIn.config(port: port))
        #expect(runtime.reloadAndCheck().wire == "passed")
        #expect(standIn.pid() != nil)
    }

    @Test(.enabled(if: PicoClawStandIn.available)) func aPicoClawThatIsNotRunningStaysSo() throws {
        let standIn = try PicoClawStandIn(root: try TestSupport.temporaryDirectory(), config: nil)
        defer { standIn.stop() }
        let port = PicoClawStandIn.freePort()
        guard case .skipped = Self.runtime(standIn, restart: true).reloadAndCheck() else { Issue.record("no pid file"); return }
        #expect(standIn.pid() == nil, "not started by a release")
        // A stale pid file (a pid that cannot exist) is not a running PicoClaw either.
        try #"{"pid": 999999999, "token": "t", "port": 1, "host": "127.0.0.1"}"#.write(toFile: standIn.home + "/.picoclaw.pid", atomically: true, encoding: .utf8)
        guard case .skipped = Self.runtime(standIn).reloadAndCheck() else { Issue.record("stale pid file"); return }
        try FileManager.default.removeItem(atPath: standIn.home + "/.picoclaw.pid")

        // One that cannot start at all (no pid file, the failure in its log) is not "not running".
        try standIn.write(PicoClawStandIn.config(port: port, extra: #""bogus": 1"#))
        #expect(try standIn.start() == false)
        guard case .failed(let reason) = Self.runtime(standIn).reloadAndCheck() else { Issue.record("a crash loop was skipped"); return }
        #expect(reason.hasPrefix("PicoClaw is failing to start: Gateway startup failed: error loading config: config.json contains unknown field(s): bogus"), "\(reason)")
    }
}
