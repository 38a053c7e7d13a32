import FlotillaProtocol
import Foundation

/// A change made by one coordinator that the others must apply to what they keep in memory
/// (node directory, gateway keys, release board, trust chain, gateway catalog, vault cache,
/// admin token), sent after the change is durable in the shared database.
enum ClusterEvent: Sendable, Equatable {
    /// A node was enrolled, approved, revoked, renewed or promoted a certificate: reload it.
    case node(id: String)
    /// A node's gateway key was issued, rotated or removed: reload it.
    case gatewayKey(nodeID: String)
    /// The nodes assigned `group`'s release `version` changed (a publish, a wave, a re-signing).
    case releases(version: Int64, group: String)
    /// `group`'s release `version` became what its new nodes get.
    case groupDefault(version: Int64, group: String)
    /// A root document was appended (a key rotation): reload the trust chain and signing key.
    case trust
    /// A gateway configuration was published.
    case gatewayConfig
    /// A provider key was set or deleted.
    case secrets
    /// The admin token was rotated.
    case adminToken
    /// Rollouts or node states changed: live dashboard figures are stale.
    case fleet
    /// Rate-limit use measured by coordinator `origin` since its last report (`RateLimitShare`).
    case rateUse(origin: String, report: String)
    /// The bus reconnected and may have missed events: reload everything kept in memory.
    case resync
}

/// How coordinators sharing a database tell each other about changes. The embedded SQLite
/// backend has one coordinator, so its bus (`LocalClusterBus`) carries nothing; the PostgreSQL
/// one is `LISTEN`/`NOTIFY` (`PostgresClusterBus`).
protocol ClusterBus: Sendable {
    /// This coordinator's id on the bus (random per process start).
    var origin: String { get }
    /// Tells every other coordinator about `event`. Best effort: a coordinator that misses it
    /// gets `.resync` when its listener reconnects.
    func publish(_ event: ClusterEvent) async
    /// Events from the other coordinators, until the calling task is cancelled. One consumer.
    func events() -> AsyncStream<ClusterEvent>
}

/// The bus of a coordinator that shares its database with no other.
struct LocalClusterBus: ClusterBus {
    let origin = Secrets.shortID()

    func publish(_ event: ClusterEvent) async {}

    func events() -> AsyncStream<ClusterEvent> {
        AsyncStream { _ in }
    }
}

extension ClusterEvent {
    /// `kind|field|field` (fields hold no `|`: ids, group names and numbers only, and a
    /// rate report of its own format at the end).
    var encoded: String {
        switch self {
        case .node(let id): "node|\(id)"
        case .gatewayKey(let id): "key|\(id)"
        case .releases(let version, let group): "releases|\(version)|\(group)"
        case .groupDefault(let version, let group): "default|\(version)|\(group)"
        case .trust: "trust"
        case .gatewayConfig: "gateway"
        case .secrets: "secrets"
        case .adminToken: "admin"
        case .fleet: "fleet"
        case .rateUse(let origin, let report): "rate|\(origin)|\(report)"
        case .resync: "resync"
        }
    }

    /// The event `encoded` wrote, or nil for text it did not write.
    init?(encoded text: String) {
        let parts = text.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("node", 2): self = .node(id: parts[1])
        case ("key", 2): self = .gatewayKey(nodeID: parts[1])
        case ("releases", 3):
            guard let version = Int64(parts[1]) else { return nil }
            self = .releases(version: version, group: parts[2])
        case ("default", 3):
            guard let version = Int64(parts[1]) else { return nil }
            self = .groupDefault(version: version, group: parts[2])
        case ("trust", 1): self = .trust
        case ("gateway", 1): self = .gatewayConfig
        case ("secrets", 1): self = .secrets
        case ("admin", 1): self = .adminToken
        case ("fleet", 1): self = .fleet
        case ("rate", 3): self = .rateUse(origin: parts[1], report: parts[2])
        case ("resync", 1): self = .resync
        default: return nil
        }
    }
}
