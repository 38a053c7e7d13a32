import CFlotillaSystem

/// Making PicoClaw take a new config, and proving it did. PicoClaw's `/reload` only queues a
/// reload and `/health` answers 200 whatever happened (pkg/health/server.go), so neither says
/// anything on its own:
/// - with a restart command (what PicoClaw's own launcher does, web/backend/api/gateway.go) the
///   new process must write a new pid to `.picoclaw.pid` (PicoClaw writes it only after its
///   config loaded, and removes it when start-up fails after that: pkg/gateway/gateway.go), answer
///   `/health` with that pid, and still be there `quietMilliseconds` later;
/// - with `/reload` (a 500 means a reload is already running: wait and ask again) the outcome is
///   read from `<home>/logs/gateway.log`: "Manual reload completed successfully" (logged at info)
///   or an error line, whose text becomes the report; with no line for `quietMilliseconds` and the
///   same process still answering, the reload counts as done.
/// A PicoClaw that is not running stays so, unless its log says its last start failed (a crash
/// loop): then a restart command restarts it and the outcome is checked the same way.
extension PicoClawRuntime {
    /// A running PicoClaw gateway, from its pid file.
    struct Process {
        var pid: Int64
        var token: String
        var baseURL: String
    }

    var logPath: String { Text.join(home, "/logs/gateway.log") }

    func reloadAndCheck() -> HealthCheck {
        // One loopback client for every request of the check (it polls every 200 ms).
        guard let client = try? HTTPClient(tls: nil, timeoutSeconds: 5) else { return .failed("cannot create an HTTP client") }
        let log = PicoClawLog(path: logPath)
        let running = process(client)
        if running == nil {
            guard let failure = log.lastStartupFailure() else {
                return .skipped("PicoClaw is not running; it loads the new config when it starts")
            }
            guard restartCommand != nil else { return .failed(Text.join("PicoClaw is failing to start: ", failure)) }
        }
        if let restartCommand { return restart(restartCommand, replacing: running?.pid ?? 0, log: log, client: client) }
        return reload(running!, log: log, client: client)
    }

    /// The gateway named by `.picoclaw.pid` when that process is alive and answers `/health`
    /// with its pid (so the file is not a stale one from an earlier process).
    func process(_ client: HTTPClient) -> Process? {
        guard let bytes = try? FileIO.read(Text.path(home, ".picoclaw.pid"), maxBytes: 64 * 1024),
              let json = try? JSONParser().parse(bytes), let pid = json["pid"]?.intValue,
              let port = json["port"]?.intValue, let token = json["token"]?.stringValue,
              flotilla_process_alive(Int(pid)) != 0 else { return nil }
        let running = Process(pid: pid, token: token, baseURL: Text.join("http://", PicoClawRuntime.urlHost(json["host"]?.stringValue ?? ""),
                                                                         ":", Text.number(port)))
        guard let health = try? client.get(Text.join(running.baseURL, "/health"), maxBytes: 64 * 1024, timeoutSeconds: 2), health.status == 200,
              (try? JSONParser().parse(health.body))?["pid"]?.intValue == pid else { return nil }
        return running
    }

    /// Runs the restart command and waits for a new process that stays up.
    func restart(_ command: String, replacing old: Int64, log: PicoClawLog, client: HTTPClient) -> HealthCheck {
        let status = flotilla_run_shell(command, Int(timeoutMilliseconds))
        guard status == 0 else { return .failed(Text.join("restart command ", CommandRuntime.describe(status))) }
        let deadline = flotilla_monotonic_ms() + timeoutMilliseconds
        var since: (pid: Int64, at: Int64)?
        while flotilla_monotonic_ms() < deadline, flotilla_stop_requested() == 0 {
            if let failure = log.outcome().failure { return .failed(failure) }
            if let running = process(client), running.pid != old {
                if since?.pid != running.pid { since = (running.pid, flotilla_monotonic_ms()) }
                if let since, flotilla_monotonic_ms() - since.at >= quietMilliseconds { return .passed }
            } else {
                since = nil
            }
            flotilla_sleep_ms(200)
        }
        return .failed(log.outcome().failure ?? "PicoClaw did not come back up with a new pid after the restart")
    }

    /// `POST /reload`, then the outcome from gateway.log.
    func reload(_ running: Process, log: PicoClawLog, client: HTTPClient) -> HealthCheck {
        let deadline = flotilla_monotonic_ms() + timeoutMilliseconds
        while true {
            let answer: HTTPClient.Response
            do {
                answer = try client.post(Text.join(running.baseURL, "/reload"), body: [], header: Text.join("Authorization: Bearer ", running.token))
            } catch {
                return .failed(Text.join("PicoClaw reload failed: ", error.message))
            }
            if answer.status == 200 { break }
            guard answer.status == 500, flotilla_monotonic_ms() < deadline else {
                return .failed(Text.join("PicoClaw refused the reload: HTTP ", Text.number(Int64(answer.status))))
            }
            flotilla_sleep_ms(500)  // a reload is already queued or running
        }
        let quiet = flotilla_monotonic_ms() + quietMilliseconds
        while flotilla_monotonic_ms() < deadline, flotilla_stop_requested() == 0 {
            let outcome = log.outcome()
            if let failure = outcome.failure { return .failed(failure) }
            if outcome.reloaded { return .passed }
            if flotilla_monotonic_ms() >= quiet {
                return process(client)?.pid == running.pid ? .passed : .failed("PicoClaw stopped during the reload")
            }
            flotilla_sleep_ms(200)
        }
        return .failed("PicoClaw did not finish the reload in time")
    }

    /// The gateway's host as it goes in a URL: wildcard addresses become loopback, IPv6 gets brackets.
    static func urlHost(_ host: String) -> String {
        if host.utf8.isEmpty || SystemText.same(host, "0.0.0.0") { return "127.0.0.1" }
        if SystemText.same(host, "::") { return "[::1]" }
        if host.utf8.contains(UInt8(ascii: ":")) { return Text.join("[", host, "]") }
        return host
    }
}
