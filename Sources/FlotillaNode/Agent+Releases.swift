import CFlotillaSystem

/// The release side of the agent loop: between two heartbeats the agent long-polls
/// `GET /v1/release` (each wait at most the time left before the next heartbeat, at most 60 s)
/// and hands every new envelope to `ReleaseUpdater`. Any failure ends polling until the next
/// heartbeat, which is the retry schedule (and the heartbeat's backoff applies on top).
extension Agent {
    /// The release updater for `runtime`, or nil (logged once) when releases are disabled.
    static func makeReleases(_ state: NodeState, _ identity: NodeIdentity, _ runtime: Runtime?) -> ReleaseUpdater<Runtime>? {
        guard let runtime else {
            Log.info("no --runtime: releases disabled")
            return nil
        }
        do {
            guard let key = try state.loadRootPublicKey() else {
                Log.warn("no root_public_key was pinned at enrollment: releases disabled")
                return nil
            }
            let updater = try ReleaseUpdater(stateDirectory: state.directory, rootPublicKey: key,
                                             target: ReleaseTarget(nodeID: identity.nodeID, group: identity.group), runtime: runtime)
            if try updater.applier.recover() {
                Log.warn("restored the snapshot of an interrupted release apply; the release will be retried")
            }
            Log.info("releases enabled", [("runtime", runtime.name), ("workspace", runtime.workspace)])
            return updater
        } catch {
            Log.error("cannot set up releases: releases disabled until restart", error)
            return nil
        }
    }

    /// Long-polls for releases until `milliseconds` have passed (or a stop signal), then returns.
    func pollReleases(forMilliseconds milliseconds: Int64) {
        let deadline = flotilla_monotonic_ms() + milliseconds
        while releases != nil, flotilla_stop_requested() == 0 {
            let remaining = (deadline - flotilla_monotonic_ms()) / 1000
            guard remaining >= 1, checkReleases(waitSeconds: Int(min(remaining, 60))) else { break }
        }
        Agent.sleep(milliseconds: deadline - flotilla_monotonic_ms())
    }

    /// One long poll and, on 200, one evaluation. Returns true when polling may go on at once:
    /// a 204 that took the whole wait, or an envelope settled (reported and stored as `seen`).
    func checkReleases(waitSeconds: Int) -> Bool {
        guard let store = releases?.store else { return false }
        let source = CoordinatorReleaseSource(client: client, baseURL: coordinators.current)
        let started = flotilla_monotonic_ms()
        let body: [UInt8]?
        do {
            body = try source.poll(seen: store.seen(), waitSeconds: waitSeconds)
        } catch {
            if case .responseTooLarge = error {
                _ = releases?.send(ReleaseReport(version: 0, status: "failed", errorCode: ReleaseFailure.tooLarge.code,
                                                 message: "release envelope larger than 1 MiB"), to: source)
            }
            Log.error("release check failed", error)
            return false
        }
        guard let body else {
            // A coordinator answering 204 well before `wait` is not long-polling: do not spin.
            return flotilla_monotonic_ms() - started + 1000 >= Int64(waitSeconds) * 1000
        }
        return releases?.evaluate(body, from: source, now: flotilla_unix_seconds()).settled ?? false
    }
}
