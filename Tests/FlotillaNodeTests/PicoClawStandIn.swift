import Foundation
@testable import FlotillaNode

/// A PicoClaw home with the stand-in (Tests/Python/picoclaw_standin.py, which follows
/// PicoClaw's own rules) as its gateway: started directly, or restarted by `restartCommand` the
/// way a service manager would. Every process it starts is killed by `stop()`.
final class PicoClawStandIn {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Python/picoclaw_standin.py").path
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    let home: String
    var configPath: String { home + "/config.json" }
    var pidsFile: String { home + "/standin.pids" }
    /// The stand-in's `restart`: stops the running gateway (if any) and starts a new one in the
    /// background, as `systemctl restart picoclaw` would.
    var restartCommand: String {
        "PICOCLAW_HOME='\(home)' STANDIN_PIDS='\(pidsFile)' /usr/bin/python3 '\(Self.script)' restart"
    }

    /// A home under `root` with `config` as config.json (nil: none).
    init(root: String, config: String?) throws {
        home = root + "/picoclaw"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        if let config { try write(config) }
    }

    /// Replaces config.json.
    func write(_ config: String) throws {
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts a gateway and waits for its pid file (true) or its exit (false).
    @discardableResult
    func start(reloadSeconds: Double = 0.3) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, "gateway"]
        process.environment = ["PICOCLAW_HOME": home, "STANDIN_PIDS": pidsFile, "STANDIN_RELOAD_SECONDS": "\(reloadSeconds)",
                               "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if pid() != nil { return true }
            if !process.isRunning { return false }
            usleep(20_000)
        }
        return false
    }

    /// The pid in `.picoclaw.pid`, if any.
    func pid() -> Int32? {
        guard let data = FileManager.default.contents(atPath: home + "/.picoclaw.pid"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (json["pid"] as? Int).map(Int32.init)
    }

    /// The pid file's token and port, to talk to the gateway directly.
    func endpoint() -> (token: String, port: Int)? {
        guard let data = FileManager.default.contents(atPath: home + "/.picoclaw.pid"),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let token = json["token"] as? String, let port = json["port"] as? Int else { return nil }
        return (token, port)
    }

    /// gateway.log's lines.
    func log() -> [String] {
        ((try? String(contentsOfFile: home + "/logs/gateway.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Kills every stand-in process this home started.
    func stop() {
        let pids = ((try? String(contentsOfFile: pidsFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
        for pid in pids { kill(pid, SIGKILL) }
    }

    /// A PicoClaw config with the gateway on a free port and `extra` members (JSON text after a comma).
    static func config(port: Int, logLevel: String = "info", model: String = "local", extra: String = "") -> String {
        """
        {"version": 3, "gateway": {"host": "127.0.0.1", "port": \(port), "log_level": "\(logLevel)"},
         "agents": {"defaults": {"model_name": "\(model)"}},
         "model_list": [{"model_name": "local", "provider": "openai", "model": "llama3", "api_base": "http://127.0.0.1:9/v1"}]\(extra.isEmpty ? "" : ", " + extra)}
        """
    }

    /// A loopback TCP port nothing listens on right now: port 0 bound, the kernel's pick read
    /// back, the socket closed.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
