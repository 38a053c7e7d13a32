import Foundation
import Testing
@testable import FlotillaNode

/// The heartbeat's `local_model` reading: the installed release's health URL, checked with a
/// real plain-HTTP GET against a local server.
@Suite("Local model health")
struct LocalModelCheckTests {
    static let now = RFC3339.unixSeconds("2026-12-01T00:00:00Z")!
    let root = TestKey(1)
    let signing = TestKey(2)
    var trust: [JSONValue] { [Envelopes.root(version: 1, rootKey: root, signingKeys: [signing], signers: [root])] }

    func install(_ release: TestRelease, _ updater: ReleaseUpdater<CommandRuntime>, _ source: FakeSource) {
        source.serve(release)
        #expect(updater.evaluate(release.envelope(signedBy: [signing]), from: source, now: Self.now).status == .applied)
    }

    @Test(.enabled(if: RuntimeTests.hasPython))
    func theInstalledReleasesLocalModelIsReportedUpOrDown() throws {
        let node = try TestNode()
        let server = try RuntimeTests.Server(directory: node.root, token: "t")
        let source = FakeSource(roots: trust)
        let updater = try node.updater(node.command(), pinned: root)
        var check = LocalModelCheck()
        #expect(check.check(nil) == nil, "releases disabled")
        #expect(check.check(updater.store) == nil, "nothing installed")

        let base = "http://127.0.0.1:\(server.port)"
        install(TestRelease(version: 1, files: [], localModelHealthURL: base + "/health"), updater, source)
        #expect(check.check(updater.store) == "up")
        install(TestRelease(version: 2, files: [], localModelHealthURL: base + "/loading"), updater, source)
        #expect(check.check(updater.store) == "down", "503 while the model loads")
        install(TestRelease(version: 3, files: [], localModelHealthURL: base + "/health"), updater, source)
        #expect(check.check(updater.store) == "up")
        server.stop()
        let started = Date()
        #expect(check.check(updater.store) == "down", "nothing listens any more")
        #expect(Date().timeIntervalSince(started) < Double(LocalModelCheck.timeoutSeconds) + 3)

        install(TestRelease(version: 4, files: []), updater, source)
        #expect(check.check(updater.store) == nil, "the group no longer has a local model")
    }

    @Test func aHealthURLThatIsNotPlainHTTPIsABadManifest() throws {
        for url in ["https://127.0.0.1/health", "ftp://x", ""] {
            let payload = try JSONParser().parse(TestRelease(version: 1, files: [], localModelHealthURL: url).payload())
            #expect(throws: NodeError.self) { try ReleaseManifest(payload: payload) }
        }
        let payload = try JSONParser().parse(TestRelease(version: 1, files: [], localModelHealthURL: "http://127.0.0.1:8080/health").payload())
        #expect(try ReleaseManifest(payload: payload).localModelHealthURL == "http://127.0.0.1:8080/health")
    }

    @Test func theHeartbeatCarriesTheReading() throws {
        var request = HeartbeatRequest(sequence: 1, agentVersion: "0.1.0")
        #expect(request.json()["local_model"] == nil)
        request.localModel = "down"
        #expect(request.json()["local_model"]?.stringValue == "down")
        #expect(try HeartbeatRequest(json: request.json()).localModel == "down")
    }
}
