import CFlotillaSystem

/// PicoClaw (see ../shared/reference/picoclaw.md): skills in `<workspace>/skills`, config in
/// `<home>/config.json` (merged, the user's keys stay), reload through the gateway's
/// `POST /reload` with the bearer token from `<home>/.picoclaw.pid`, health from `GET /health`.
/// When PicoClaw is not running there is nothing to reload: the check is skipped and the files
/// take effect at its next start.
struct PicoClawRuntime: RuntimeAdapter {
    var workspace: String
    /// PICOCLAW_HOME; defaults to the workspace's parent directory.
    var home: String
    /// How long the gateway has to answer `{"status": "ok"}` after the reload.
    var healthTimeoutMilliseconds: Int64 = 10_000

    /// A PicoClaw runtime; `home` nil means the parent of `workspace`.
    init(workspace: String, home: String? = nil) {
        self.workspace = workspace
        self.home = home ?? FileIO.parentDirectory(of: workspace)
    }

    var configPath: String { Text.path(home, "config.json") }
    var mergesConfig: Bool { true }

    func reloadAndCheck() -> HealthCheck {
        guard let bytes = try? FileIO.read(Text.path(home, ".picoclaw.pid"), maxBytes: 64 * 1024) else {
            return .skipped("PicoClaw is not running (no .picoclaw.pid)")
        }
        guard let json = try? JSONParser().parse(bytes), let pid = json["pid"]?.intValue,
              let port = json["port"]?.intValue, let token = json["token"]?.stringValue else {
            return .skipped("unreadable .picoclaw.pid; PicoClaw not reloaded")
        }
        guard flotilla_process_alive(Int(pid)) != 0 else { return .skipped("PicoClaw is not running (stale .picoclaw.pid)") }
        let base = Text.join("http://", PicoClawRuntime.urlHost(json["host"]?.stringValue ?? ""), ":", Text.number(port))
        do {
            let client = try HTTPClient(tls: nil, timeoutSeconds: 5)
            let reload = try client.post(Text.join(base, "/reload"), body: Array("{}".utf8), header: Text.join("Authorization: Bearer ", token))
            guard reload.status >= 200, reload.status < 300 else {
                return .failed(Text.join("PicoClaw reload answered HTTP ", Text.number(Int64(reload.status))))
            }
            let deadline = flotilla_monotonic_ms() + healthTimeoutMilliseconds
            while flotilla_monotonic_ms() < deadline, flotilla_stop_requested() == 0 {
                if let health = try? client.get(Text.join(base, "/health"), maxBytes: 64 * 1024, timeoutSeconds: 2), health.status == 200,
                   let status = (try? JSONParser().parse(health.body))?["status"]?.stringValue, SystemText.same(status, "ok") {
                    return .passed
                }
                flotilla_sleep_ms(250)
            }
            return .failed("PicoClaw gateway did not report status ok after the reload")
        } catch {
            return .failed(Text.join("PicoClaw reload failed: ", error.message))
        }
    }

    /// The gateway's host as it goes in a URL: wildcard addresses become loopback, IPv6 gets brackets.
    static func urlHost(_ host: String) -> String {
        if host.utf8.isEmpty || SystemText.same(host, "0.0.0.0") { return "127.0.0.1" }
        if SystemText.same(host, "::") { return "[::1]" }
        if host.utf8.contains(UInt8(ascii: ":")) { return Text.join("[", host, "]") }
        return host
    }
}
