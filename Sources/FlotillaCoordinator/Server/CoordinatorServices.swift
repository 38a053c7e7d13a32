import Foundation
import Logging

/// Everything the request handlers share: the store, the CA, the node directory, the heartbeat
/// pipeline and the settings that shape responses.
struct CoordinatorServices: Sendable {
    let store: Store
    let ca: CertificateAuthority
    let directory: NodeDirectory
    let writer: HeartbeatWriter
    let identities: PeerIdentityCache
    let releases: ReleaseService
    let reports: ReleaseReportWriter
    let rollouts: RolloutEngine
    let heartbeatInterval: TimeInterval
    let nodeCertificateValidity: TimeInterval
    /// URL that provisioning bundles tell boards to use; known only once the listener is bound.
    let advertisedURL: @Sendable () -> String
    let logger: Logger
}
