/// Takes one release envelope from the long poll through the whole contract: trust refresh
/// (so a signing key a newer root document dropped is never honoured), checks in order,
/// download, apply, reports. Refusals are final for that envelope (its digest becomes `seen`);
/// network and disk problems are not, so the same envelope is tried again later.
final class ReleaseUpdater<R: RuntimeAdapter> {
    let store: ReleaseStore
    private(set) var trust: TrustChain
    let applier: ReleaseApplier<R>
    let target: ReleaseTarget

    /// Loads the trust state of `stateDirectory` for the root key pinned at enrollment.
    init(stateDirectory: String, rootPublicKey: [UInt8], target: ReleaseTarget, runtime: R) throws(NodeError) {
        self.target = target
        store = ReleaseStore(directory: stateDirectory)
        trust = TrustChain(pinnedRootKey: rootPublicKey, trusted: try store.trustedRoot())
        applier = ReleaseApplier(store: store, runtime: runtime)
    }

    /// Evaluates `body` (a 200 answer of the long poll) at Unix time `now` and reports to `source`.
    func evaluate<S: ReleaseSource>(_ body: [UInt8], from source: S, now: Int64) -> ReleaseResult {
        var result = ReleaseResult(version: 0, status: .failed)
        var phase = "download_failed"
        do throws(NodeError) {
            let (envelope, manifest) = try ReleaseCheck.parse(body)
            result.version = manifest.version
            // The trust state first: a release is judged by the newest root document, whatever
            // key signed it (a failure here is a network one, retried with the envelope).
            try refreshTrust(from: source)
            let (installed, floor) = try store.installed()
            let verdict = try ReleaseCheck.verify(envelope, manifest, signingKeys: trust.signingKeys, target: target, installedVersion: installed,
                                                  floor: floor, now: now, envelopeSize: body.count)
            guard case .install = verdict else {
                result.status = .upToDate
                return finish(result, phase: phase, body: body, to: source)
            }
            _ = send(ReleaseReport(version: manifest.version, status: "downloading", message: "downloading"), to: source)
            try ReleaseDownloader.download(manifest, envelope: body, store: store, from: source)
            phase = "apply_failed"
            var previous: ReleaseManifest?
            if installed > 0 {
                do throws(NodeError) {
                    previous = try store.manifest(installed)
                } catch {
                    Log.error("cannot read the installed release's manifest; its skills and config keys stay", error)
                }
            }
            switch try applier.apply(manifest, previous: previous) {
            case .applied(let health):
                result.status = .applied
                result.health = health
            case .rolledBack(let health):
                result.status = .rolledBack
                result.health = health
                result.error = .release(.healthCheckFailed, health.detail)
            }
        } catch {
            result.error = error
        }
        return finish(result, phase: phase, body: body, to: source)
    }

    /// Fetches `/v1/trust` and walks the chain forward, storing a newer trusted document. A
    /// document that resets the release floor resets it before it is stored (a crash in between
    /// resets it again on the next walk). When either write fails the walk is undone in memory
    /// too, so the next refresh walks the same documents and redoes both.
    func refreshTrust<S: ReleaseSource>(from source: S) throws(NodeError) {
        let before = trust.trusted
        guard try trust.advance(trustResponse: try source.trust()), let document = trust.trusted else { return }
        do throws(NodeError) {
            if trust.crossedFloorReset {
                try store.resetReleaseFloor()
                Log.warn("release floor reset by the root document", [("root_version", Text.number(document.version))])
            }
            try store.storeTrustedRoot(document)
        } catch {
            trust.revert(to: before)
            throw error
        }
        trust.crossedFloorReset = false
        Log.info("trusted root advanced", [("from_version", Text.number(before?.version ?? 0)), ("to_version", Text.number(document.version))])
    }

    /// Sends the final report and logs it. A refusal, a rollback or an applied release is final
    /// for this envelope: once the report is delivered its digest is stored as `seen`. Any other
    /// error (network, disk) is reported with `phase` as its code and the envelope is retried.
    func finish<S: ReleaseSource>(_ result: ReleaseResult, phase: String, body: [UInt8], to source: S) -> ReleaseResult {
        var result = result
        var final = true
        var code: String?
        if let error = result.error {
            code = error.code
            if case .release = error {} else {
                code = phase
                final = false
            }
        }
        let status: String
        switch result.status {
        case .upToDate, .applied: status = "applied"
        case .failed: status = "failed"
        case .rolledBack: status = "rolled_back"
        }
        let message = result.error?.message ?? result.health?.detail ?? "already installed"
        let health = result.status == .upToDate ? nil : result.health?.wire
        let delivered = send(ReleaseReport(version: result.version, status: status, errorCode: code,
                                           message: message, health: health), to: source)
        if final, delivered, let digest = try? SHA256.hex(body), (try? store.storeSeen(digest)) != nil {
            result.settled = true
        }
        let fields = [("version", Text.number(result.version)), ("status", status), ("health", health ?? "-")]
        if let error = result.error {
            Log.error(final ? Text.join("release ", status) : "release not applied; will retry", error, fields)
        } else {
            Log.info(result.status == .upToDate ? "release up to date" : "release applied", fields + [("detail", message)])
        }
        return result
    }

    /// Posts a report; a failure is logged and returned as false (reports never stop an apply).
    func send<S: ReleaseSource>(_ report: ReleaseReport, to source: S) -> Bool {
        do {
            try source.report(report)
            return true
        } catch {
            Log.error("release report failed", error, [("version", Text.number(report.version)), ("status", report.status)])
            return false
        }
    }
}

/// What became of one envelope.
struct ReleaseResult {
    /// How the release ended up.
    enum Status {
        case upToDate, applied, failed, rolledBack
    }

    /// The manifest's version (0 when the envelope did not parse).
    var version: Int64
    var status: Status
    /// Why it was refused, rolled back or left for a retry.
    var error: NodeError?
    /// The health check's outcome, once the runtime was reloaded.
    var health: HealthCheck?
    /// True when the final report was delivered and the envelope stored as `seen`; otherwise the
    /// same envelope will be evaluated again (after a wait).
    var settled = false

    /// A result for `version` with `status`.
    init(version: Int64, status: Status) {
        self.version = version
        self.status = status
    }
}
