import FlotillaProtocol
import Foundation
import Logging

/// Everything the request handlers share: the store, the CA, the node directory, the heartbeat
/// pipeline, releases, the gateway's parts and the settings that shape responses.
struct CoordinatorServices: Sendable {
    let store: any FleetStore
    /// How this coordinator tells the others sharing its database what changed.
    let bus: any ClusterBus
    /// The coordinators sharing the database (only this one on the embedded backend).
    let members: any ClusterMembership
    let ca: CertificateAuthority
    let directory: NodeDirectory
    let writer: HeartbeatWriter
    let identities: PeerIdentityCache
    let releases: ReleaseService
    /// The admin token's hash and the local key, from the data directory.
    let credentials: AdminCredentials
    let reports: ReleaseReportWriter
    let rollouts: RolloutEngine
    /// Node gateway keys (hashes, in memory for the hot path).
    let nodeKeys: NodeKeyService
    /// Provider keys, sealed at rest.
    let vault: any SecretVault
    /// One record per gateway call, and the budget counters.
    let ledger: any UsageLedger
    /// Rate limits, budget reservations and settlement of gateway calls.
    let metering: GatewayMetering
    /// Failed enrollments per source address.
    let enrollThrottle: FailureThrottle
    /// Failed dashboard sign-ins per source address.
    let signInThrottle: FailureThrottle
    /// Signed-in dashboard sessions.
    let sessions: any DashboardSessionStore
    /// Failed dashboard sign-ins not yet in the audit log.
    let signInFailures: SignInFailures
    /// The dashboard's live figures, shared by every open page.
    let live: DashboardLive
    /// Providers, prices and group model lists in force.
    let gatewayConfig: GatewayConfigService
    let upstream: UpstreamClient
    let gatewaySettings: GatewaySettings
    /// Every admin action, hash-chained.
    let auditLog: any AuditLog
    /// Counters and histograms for `/metrics`.
    let metrics: FleetMetrics
    /// Whether `/metrics` may carry one series per node (per-node budgets); off by default.
    let metricsPerNode: Bool
    let heartbeatInterval: TimeInterval
    let nodeCertificateValidity: TimeInterval
    /// URL that provisioning bundles tell boards to use; known only once the listener is bound.
    let advertisedURL: @Sendable () -> String
    let logger: Logger
}

/// Limits of the gateway endpoints.
public struct GatewaySettings: Sendable {
    /// Largest request body a caller may send (default 4 MiB).
    public var maxBodyBytes: Int
    public var timeouts: UpstreamTimeouts

    public init(maxBodyBytes: Int = 4 * 1024 * 1024, timeouts: UpstreamTimeouts = UpstreamTimeouts()) {
        self.maxBodyBytes = maxBodyBytes
        self.timeouts = timeouts
    }
}

extension CoordinatorServices {
    /// Appends `record` to the audit log as done by the request's operator. The action has
    /// already happened, so a failure to record it is logged (at error level) rather than turned
    /// into a failed response that would invite a second, duplicate action.
    func audit(_ record: AuditRecord, _ context: CoordinatorRequestContext) async {
        await audit(record, actor: context.actor ?? AuditActor(name: "unknown", source: context.remoteAddress))
    }

    /// Appends `record` as done by `actor` (see `audit(_:_:)`).
    func audit(_ record: AuditRecord, actor: AuditActor) async {
        do {
            try await auditLog.append(record, actor: actor)
        } catch {
            logger.error("audit entry not stored", metadata: ["action": "\(record.action)", "error": "\(error)"])
        }
    }

    /// An operator changed the fleet (a rollout, a node's admin state): the rollout engine looks
    /// again at once, and no dashboard page here or on another coordinator is sent the figures
    /// from before.
    func fleetChanged() async {
        rollouts.poke()
        live.invalidate()
        await bus.publish(.fleet)
    }

    /// A node's record changed (enrolled, approved, revoked, renewed): this coordinator's
    /// directory takes it at once, the others when the bus tells them.
    func nodeChanged(_ record: NodeRecord) async {
        directory.publish(record)
        await bus.publish(.node(id: record.id))
    }

    /// The group whose releases, models, budgets and limits apply to `node`: the group of its
    /// assigned release when it is a listed member of another group, else its enrolled group.
    func effectiveGroup(of node: NodeRecord) -> String {
        releases.board.desired(nodeID: node.id, group: node.group)?.group ?? node.group
    }
}

/// Failed attempts (enrollments, dashboard sign-ins) per source address: past the limit, the
/// address gets `rate_limited` (with `Retry-After`) until its bucket refills, so tokens cannot
/// be guessed fast.
struct FailureThrottle: Sendable {
    /// What is attempted, as in "too many failed \(attempts) from this address".
    let attempts: String
    let limiter: RateLimiter
    let failuresPerMinute: Int

    private func scope(_ source: String) -> RateLimiter.Scope {
        RateLimiter.Scope(key: attempts + ":" + source, label: "\(attempts) from \(source)", limit: RateLimit(requestsPerMinute: failuresPerMinute))
    }

    /// Throws `rate_limited` while `source` has used up its failures; otherwise counts this
    /// attempt as a failure up front (so concurrent guesses cannot all pass a full bucket).
    func begin(_ source: String) throws(CoordinatorError) {
        if let wait = limiter.wait(scope(source)) {
            throw CoordinatorError(.rateLimited, "too many failed \(attempts) from this address; retry in \(GatewayMetering.seconds(wait))",
                                   retryAfter: wait)
        }
        limiter.charge(scope(source))
    }

    /// The attempt of `source` succeeded: it does not count.
    func succeeded(_ source: String) {
        limiter.refund(scope(source))
    }
}
