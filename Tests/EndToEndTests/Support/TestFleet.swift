import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Testing

/// A real coordinator process on a loopback port with its own data directory, plus helpers to run
/// the `flotilla` CLI and `flotilla-node` agents against it. Everything is torn down by `with`.
final class TestFleet: @unchecked Sendable {
    // @unchecked: mutable state (`agents`) is only touched from the test's own task.
    let root: String
    let dataDirectory: String
    private(set) var coordinator: ChildProcess
    private(set) var serverURL: String
    let caPEM: String
    private let serveArguments: [String]
    private var agents: [ChildProcess] = []
    private var helpers: [ChildProcess] = []
    private var starts = 0

    private init(heartbeatInterval: String, serveArguments: [String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-e2e-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root + "/logs", withIntermediateDirectories: true)
        dataDirectory = root + "/data"
        self.serveArguments = ["serve", "--data-dir", dataDirectory, "--listen", "127.0.0.1:0", "--heartbeat-interval", heartbeatInterval]
            + serveArguments
        (coordinator, serverURL) = try Self.startCoordinator(serveArguments: self.serveArguments, root: root, label: "coordinator")
        caPEM = try String(contentsOfFile: dataDirectory + "/ca.pem", encoding: .utf8)
    }

    /// Starts `flotilla serve` and waits until it wrote a fresh `admin.url` in `dataDirectory`.
    static func startCoordinator(serveArguments: [String], root: String, label: String, dataDirectory: String? = nil) throws -> (ChildProcess, String) {
        let urlFile = (dataDirectory ?? root + "/data") + "/admin.url"
        try? FileManager.default.removeItem(atPath: urlFile)
        let coordinator = try ChildProcess(Binaries.flotilla, serveArguments, logDirectory: root + "/logs", label: label)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: urlFile) {
            guard coordinator.isRunning, Date() < deadline else {
                throw TestFailure("coordinator did not start: \(coordinator.stderr)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let url = try String(contentsOfFile: urlFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (coordinator, url)
    }

    /// Kills the coordinator with SIGKILL: no graceful shutdown, nothing flushed.
    func killCoordinator() {
        coordinator.kill9()
    }

    /// Starts the coordinator again after `killCoordinator` or `stopCoordinator` (on a new port
    /// unless `extraArguments` name one), with `extraArguments` after the fleet's own.
    func startCoordinatorAgain(extraArguments: [String] = []) throws {
        starts += 1
        (coordinator, serverURL) = try Self.startCoordinator(serveArguments: serveArguments + extraArguments, root: root,
                                                             label: "coordinator-\(starts)")
    }

    /// Stops the coordinator as an operator would (SIGTERM, graceful shutdown); its exit status.
    @discardableResult
    func stopCoordinator() -> Int32 {
        coordinator.stop()
    }

    /// Kills the coordinator with SIGKILL (no graceful shutdown) and starts it again on the same
    /// data directory (on a new port).
    func killAndRestartCoordinator() throws {
        killCoordinator()
        try startCoordinatorAgain()
    }

    /// Log output of every coordinator run so far.
    var coordinatorLogs: String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/logs")) ?? []
        return names.filter { $0.hasPrefix("coordinator") }.compactMap { try? String(contentsOfFile: root + "/logs/" + $0, encoding: .utf8) }
            .joined(separator: "\n")
    }

    /// Starts a helper process (a fake provider) torn down with the fleet.
    func startHelper(_ arguments: [String], label: String, environment: [String: String] = [:]) throws -> ChildProcess {
        let helper = try ChildProcess(Binaries.flotilla, arguments, logDirectory: root + "/logs", label: label, environment: environment)
        helpers.append(helper)
        return helper
    }

    /// Runs `body` with a fresh fleet and always tears it down.
    static func with<T>(heartbeatInterval: String = "1s", serveArguments: [String] = [], _ body: (TestFleet) async throws -> T) async throws -> T {
        let fleet = try TestFleet(heartbeatInterval: heartbeatInterval, serveArguments: serveArguments)
        do {
            let result = try await body(fleet)
            fleet.tearDown()
            return result
        } catch {
            fleet.tearDown()
            throw error
        }
    }

    /// Adopts `process` (a peer coordinator) so it is torn down with the fleet.
    func adopt(_ process: ChildProcess) {
        helpers.append(process)
    }

    private func tearDown() {
        for agent in agents { agent.stop() }
        for helper in helpers { helper.stop() }
        coordinator.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: CLI

    /// Runs `flotilla ARGS --data-dir DIR` (with `stdin` on standard input) and returns status and output.
    @discardableResult
    func cli(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(Binaries.flotilla, arguments + ["--data-dir", dataDirectory], logDirectory: root + "/logs", stdin: stdin)
    }

    /// `flotilla provision` into a new bundle directory; returns the bundle path.
    func provision(group: String = "demo", extra: [String] = []) throws -> String {
        let out = root + "/bundle-\(UUID().uuidString.prefix(6))"
        let result = try cli(["provision", "--group", group, "--out", out, "--provisioning-dir", Binaries.repositoryRoot + "/provisioning"] + extra)
        guard result.status == 0 else { throw TestFailure("provision failed: \(result.stderr)") }
        return out
    }

    /// `flotilla nodes --json`, decoded.
    func nodes() throws -> [NodeView] {
        let result = try cli(["nodes", "--json"])
        guard result.status == 0 else { throw TestFailure("nodes failed: \(result.stderr)") }
        return try JSONDecoder().decode([NodeView].self, from: Data(result.stdout.utf8))
    }

    func node(_ name: String) throws -> NodeView? { try nodes().first { $0.name == name } }

    // MARK: Agents

    /// `flotilla-node enroll`; returns the state directory and the process result.
    func enroll(bundle: String, name: String, binary: String = Binaries.node) throws -> (stateDirectory: String, status: Int32, stderr: String) {
        let state = root + "/state-\(name)"
        let result = try ChildProcess.run(
            binary, ["enroll", "--config", bundle + "/node.conf", "--state-dir", state, "--name", name],
            logDirectory: root + "/logs"
        )
        return (state, result.status, result.stderr)
    }

    /// Starts `flotilla-node run` in the background (`environment` is added to the inherited one).
    func startAgent(stateDirectory: String, label: String, binary: String = Binaries.node, extraArguments: [String] = [],
                    environment: [String: String] = [:]) throws -> ChildProcess {
        let agent = try ChildProcess(binary, ["run", "--state-dir", stateDirectory] + extraArguments, logDirectory: root + "/logs", label: label,
                                     environment: environment)
        agents.append(agent)
        return agent
    }

    /// Polls `condition` every 200 ms until it holds or `timeout` passes.
    func eventually(timeout: TimeInterval = 30, _ condition: () throws -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return try condition()
    }

    // MARK: Raw HTTPS

    /// A response from a raw request.
    struct Reply {
        var status: Int
        var body: Data
        /// The `Location` header of a redirect (redirects are not followed).
        var location: String? = nil
        /// Cookies set by `Set-Cookie`, by name.
        var cookies: [String: String] = [:]
        var errorCode: String? { (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error.code }
    }

    /// POSTs `body` to `path`, optionally presenting a client certificate (PEM strings).
    func post(_ path: String, body: Data, certificatePEM: String? = nil, keyPEM: String? = nil,
              headers: [(String, String)] = []) async throws -> Reply {
        try await send(.POST, path, body: body, certificatePEM: certificatePEM, keyPEM: keyPEM, headers: headers)
    }

    /// GETs `path` with `headers`.
    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(.GET, path, body: nil, certificatePEM: nil, keyPEM: nil, headers: headers)
    }

    /// Sends one request (JSON unless `headers` name another Content-Type); redirects are returned, not followed.
    func send(_ method: HTTPMethod, _ path: String, body: Data?, certificatePEM: String?, keyPEM: String?,
              headers: [(String, String)], base: String? = nil) async throws -> Reply {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        if let certificatePEM, let keyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // Connecting includes the TLS handshake, which a loaded machine (or a caller queued
        // behind the connection cap) may take long to finish.
        configuration.timeout.connect = .seconds(60)
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: (base ?? serverURL) + path)
            request.method = method
            if body != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await client.execute(request, timeout: .seconds(30))
            let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
            try await client.shutdown()
            var cookies: [String: String] = [:]
            for value in response.headers["Set-Cookie"] {
                let pair = value.split(separator: ";", maxSplits: 1)[0].split(separator: "=", maxSplits: 1)
                if pair.count == 2 { cookies[String(pair[0])] = String(pair[1]) }
            }
            return Reply(status: Int(response.status.code), body: data, location: response.headers.first(name: "Location"), cookies: cookies)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// POSTs with the identity an agent stored in `stateDirectory`.
    func post(_ path: String, body: Data, asNodeIn stateDirectory: String) async throws -> Reply {
        try await post(
            path, body: body,
            certificatePEM: try String(contentsOfFile: stateDirectory + "/cert.pem", encoding: .utf8),
            keyPEM: try String(contentsOfFile: stateDirectory + "/key.pem", encoding: .utf8)
        )
    }
}

/// A failure in the test harness itself.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A valid heartbeat body.
let sampleHeartbeat = Data(
    #"{"sequence":1,"agent_version":"0.1.0","arch":"x86_64","kernel":"6.1","uptime_seconds":10,"cpu_percent":5,"mem_total_bytes":1000,"mem_available_bytes":500,"disk_total_bytes":2000,"disk_free_bytes":1000,"temperatures":[]}"#.utf8
)
