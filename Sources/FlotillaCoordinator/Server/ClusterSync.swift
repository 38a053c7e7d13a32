import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Applies what other coordinators sharing the database changed to what this one keeps in
/// memory: node records (a revocation is refused here as soon as it arrives), gateway keys, the
/// release board (waking the nodes that long-poll here), the trust chain, the gateway catalog,
/// the vault's opened keys, the admin token and the dashboard's live figures.
struct ClusterSync: Service {
    let services: CoordinatorServices
    let vault: SealingVault
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await event in services.bus.events() {
                await apply(event)
            }
        }
    }

    /// Applies one event; a failure is logged and the next `.resync` repairs it.
    func apply(_ event: ClusterEvent) async {
        do {
            switch event {
            case .node(let id):
                if let node = try await services.store.node(id: id) { services.directory.publish(node) }
                services.live.invalidate()
            case .gatewayKey(let nodeID):
                try await services.nodeKeys.reload(nodeID: nodeID)
            case .releases(let version, let group):
                try await services.releases.followAssignments(version: version, group: group)
            case .groupDefault(let version, let group):
                try await services.releases.followGroupDefault(version: version, group: group)
            case .trust:
                try await services.releases.trust.reload()
            case .gatewayConfig:
                try await services.gatewayConfig.reload()
            case .secrets:
                vault.invalidate()
            case .adminToken:
                try await services.credentials.reload()
            case .fleet:
                services.live.invalidate()
            case .rateUse(let origin, let report):
                services.metering.limiter.applyRemote(origin: origin, report: report)
            case .resync:
                try await resync()
            }
        } catch {
            logger.error("change from another coordinator not applied", metadata: ["event": "\(event.encoded.prefix(80))", "error": "\(error.message)"])
        }
    }

    /// Reloads everything kept in memory from the database.
    func resync() async throws(CoordinatorError) {
        services.directory.replaceAll(try await services.store.nodes())
        try await services.nodeKeys.load()
        try await services.releases.loadBoard()
        try await services.releases.trust.reload()
        try await services.gatewayConfig.reload()
        vault.invalidate()
        try await services.credentials.reload()
        services.live.invalidate()
        logger.info("state reloaded after the bus reconnected")
    }
}
