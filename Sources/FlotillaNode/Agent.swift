import CFlotillaSystem

/// `flotilla-node run`: the heartbeat loop. Sends a heartbeat now, then every
/// `heartbeat_interval_seconds` (±10%), backs off exponentially after any failure, renews the
/// certificate when asked or when it enters the last third of its lifetime, and stops cleanly on
/// SIGTERM/SIGINT. Between heartbeats it long-polls for signed releases when a runtime is
/// configured (Agent+Releases.swift). Failures are logged with their error code and never end the loop.
final class Agent {
    let state: NodeState
    var identity: NodeIdentity
    /// The fleet's coordinators and the one in use.
    var coordinators: CoordinatorList
    var client: HTTPClient
    var sequence: Int64 = 0
    var cpu: CPUSample?
    var intervalSeconds: Int64 = 15
    var backoff = Backoff()
    /// Release handling; nil when releases are disabled (no runtime or no pinned root key).
    var releases: ReleaseUpdater<Runtime>?
    /// The PicoClaw runtime, told when the gateway key changes.
    var picoclaw: PicoClawRuntime?
    /// The installed release's local model, checked before each heartbeat.
    var localModel = LocalModelCheck()

    /// Loads the identity from `state`, opens the mutual-TLS client and, with a `runtime`, sets up
    /// releases (finishing an apply a crash interrupted).
    init(state: NodeState, runtime: Runtime? = nil) throws(NodeError) {
        self.state = state
        if try state.recoverStagedRenewal() {
            Log.warn("finished an interrupted certificate renewal")
        }
        identity = try state.loadIdentity()
        coordinators = CoordinatorList(urls: identity.coordinators)
        client = try Agent.makeClient(state)
        if case .picoclaw(let runtime)? = runtime {
            try runtime.validate()
            runtime.keySource = state.gatewayKeyPath
            runtime.caSource = state.caPath
            picoclaw = runtime
        }
        releases = Agent.makeReleases(state, identity, runtime)
    }

    /// Runs until a stop signal (or after one heartbeat with `once`). Returns the exit status:
    /// 0, or with `once` the failed heartbeat's `NodeError.exitStatus`.
    func run(once: Bool) -> Int32 {
        flotilla_install_stop_handlers()
        Log.info("agent started", [("node_id", identity.nodeID), ("name", identity.name),
                                   ("coordinator", coordinators.current), ("version", AgentInfo.version)])
        while flotilla_stop_requested() == 0 {
            var delay: Int64
            _ = coordinators.returnToPreferredIfDue(nowMilliseconds: flotilla_monotonic_ms())
            do {
                let response = try heartbeat()
                backoff.reset()
                intervalSeconds = min(max(response.heartbeatIntervalSeconds, 1), 86_400)
                renewIfNeeded(requested: response.renewCertificate)
                syncGatewayKey(response)
                if once {
                    _ = checkReleases(waitSeconds: 0)
                    return 0
                }
                delay = Backoff.jittered(intervalSeconds * 1000, fraction: 0.1, random: flotilla_random_u64())
                pollReleases(forMilliseconds: delay)
            } catch {
                Log.error("heartbeat failed", error, [("seq", Text.number(sequence))])
                if once { return error.exitStatus }
                // Another coordinator may well answer: it is tried soon (jittered, so a fleet that
                // lost one does not move to the next in lockstep); a whole round failing backs off.
                delay = failOver(error)
                    ? Backoff.jittered(600, fraction: 0.6, random: flotilla_random_u64())
                    : backoff.nextDelay(random: flotilla_random_u64())
                Log.info("retrying", [("in_ms", Text.number(delay)), ("failures", Text.number(Int64(backoff.failures)))])
                Agent.sleep(milliseconds: delay)
            }
        }
        Log.info("agent stopped", [("reason", "signal")])
        return 0
    }

    /// Collects readings and sends one heartbeat.
    func heartbeat() throws(NodeError) -> HeartbeatResponse {
        sequence += 1
        var request = HeartbeatRequest(sequence: sequence, agentVersion: AgentInfo.version)
        request.apply(SystemReadings.collect(diskPath: state.directory, cpu: &cpu))
        request.localModel = localModel.check(releases?.store)
        let json = try client.postJSON(coordinators.current + "/v1/heartbeat", request.json(), expected: 200)
        let response = try HeartbeatResponse(json: json)
        var fields: [(String, String)] = [("seq", Text.number(sequence)), ("status", response.status),
                                          ("interval_s", Text.number(response.heartbeatIntervalSeconds))]
        if let cpu = request.cpuPercent { fields.append(("cpu_percent", NumberText.string(cpu))) }
        if response.renewCertificate { fields.append(("renew_certificate", "true")) }
        Log.info("heartbeat ok", fields)
        return response
    }

    /// Fetches a new gateway key over mutual TLS when the coordinator expects another one than
    /// `gateway.key` holds (a rotation, a node enrolled before the gateway, a lost file). A
    /// failure is logged; the next heartbeat tries again.
    func syncGatewayKey(_ response: HeartbeatResponse) {
        guard response.hasGateway else { return }
        do throws(NodeError) {
            if let expected = response.gatewayKeyID, let local = try state.gatewayKeyID(), Hex.equal(local, expected) { return }
            let json = try client.postJSON(coordinators.current + "/v1/gateway-key", .object([]), expected: 200)
            guard let key = GatewayKey.validated(try json.requiredString("gateway_key")) else {
                throw NodeError.invalidField("gateway_key is not a printable key")
            }
            try state.storeGatewayKey(key)
            Log.info("gateway key stored", [("key_id", try json.requiredString("gateway_key_id"))])
            picoclaw?.gatewayKeyChanged()
        } catch {
            Log.error("gateway key not updated", error)
        }
    }

    /// Renews when the coordinator asks or the local certificate is in its last third; a failure
    /// is logged and leaves the current identity in place (the next heartbeat tries again).
    func renewIfNeeded(requested: Bool) {
        var due = requested
        if !due {
            do {
                let validity = try Certificate(pem: try FileIO.read(state.certificatePath)).validity()
                due = Certificate.needsRenewal(notBefore: validity.notBefore, notAfter: validity.notAfter,
                                               now: flotilla_unix_seconds())
            } catch {
                Log.error("cannot read certificate validity", error)
            }
        }
        guard due else { return }
        do {
            try renew()
        } catch {
            Log.error("certificate renewal failed", error)
        }
    }

    /// Generates a new key and CSR, asks /v1/renew over mutual TLS, and swaps key.pem/cert.pem.
    func renew() throws(NodeError) {
        let key = try NodeKey.generate()
        let csr = try CertificateSigningRequest.pem(key: key, commonName: identity.name)
        let json = try client.postJSON(coordinators.current + "/v1/renew",
                                       RenewRequest(csrPEM: csr).json(), expected: 200)
        let response = try RenewResponse(json: json)
        let certificatePEM = Array(response.certificatePEM.utf8)
        guard try Certificate(pem: certificatePEM).matches(key) else {
            throw .crypto("renewed certificate does not match the new key")
        }
        let pinned = try Certificate(pem: try FileIO.read(state.caPath)).sha256Hex()
        let returned = try Certificate(pem: Array(response.caPEM.utf8)).sha256Hex()
        if !Hex.equal(pinned, returned) {
            Log.warn("coordinator returned a different CA on renewal; keeping the pinned CA",
                     [("pinned_sha256", pinned), ("returned_sha256", returned)])
        }
        try state.installRenewal(keyPEM: try key.pkcs8PEM(), certificatePEM: certificatePEM)
        client = try Agent.makeClient(state)
        Log.info("certificate renewed", [("expires_at", response.certificateExpiresAt)])
    }

    /// Moves on to the next coordinator when `error` is the current one's fault; returns true
    /// when the next one should be tried at once (the round is not over).
    func failOver(_ error: NodeError) -> Bool {
        let next = coordinators.failed(error, nowMilliseconds: flotilla_monotonic_ms())
        if next { Log.warn("failing over", [("to", coordinators.current)]) }
        return next
    }

    static func makeClient(_ state: NodeState) throws(NodeError) -> HTTPClient {
        try HTTPClient(tls: HTTPClient.TLS(caFile: state.caPath, clientCertificateFile: state.certificatePath,
                                           clientKeyFile: state.keyPath))
    }

    /// Sleeps in 200 ms slices so a stop signal ends the wait promptly.
    static func sleep(milliseconds: Int64) {
        let deadline = flotilla_monotonic_ms() + milliseconds
        while flotilla_stop_requested() == 0 {
            let remaining = deadline - flotilla_monotonic_ms()
            if remaining <= 0 { return }
            flotilla_sleep_ms(Int(min(remaining, 200)))
        }
    }
}
