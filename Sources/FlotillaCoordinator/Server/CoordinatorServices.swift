import Foundation
import Logging

/// Everything the request handlers share: the store, the CA, the node directory, the heartbeat
/// pipeline, releases, the gateway's parts and the settings that shape responses.
struct CoordinatorServices: Sendable {
    let store: Store
    let ca: CertificateAuthority
    let directory: NodeDirectory
    let writer: HeartbeatWriter
    let identities: PeerIdentityCache
    let releases: ReleaseService
    let reports: ReleaseReportWriter
    let rollouts: RolloutEngine
    /// Node gateway keys (hashes, in memory for the hot path).
    let nodeKeys: NodeKeyService
    /// Provider keys, sealed at rest.
    let vault: any SecretVault
    /// One record per gateway call.
    let ledger: any UsageLedger
    /// Providers, prices and group model lists in force.
    let gatewayConfig: GatewayConfigService
    let upstream: UpstreamClient
    let gatewaySettings: GatewaySettings
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
