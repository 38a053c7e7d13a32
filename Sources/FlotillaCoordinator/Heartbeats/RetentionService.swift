import Foundation
import Logging
import ServiceLifecycle

/// Deletes time-series heartbeats older than the retention window, at start and then every
/// `period`. The latest state of each node is never pruned.
struct RetentionService: Service {
    let store: Store
    let retention: TimeInterval
    let period: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let removed = try store.pruneHeartbeats(before: Date().addingTimeInterval(-retention))
                    if removed > 0 { logger.info("pruned heartbeats", metadata: ["rows": "\(removed)"]) }
                } catch {
                    logger.error("heartbeat pruning failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: period)
            }
        }
    }
}
