import Foundation
import Logging
import ServiceLifecycle

/// Deletes time-series heartbeats (and their per-minute summaries) older than the retention
/// window, at start and then every `period`, and folds new heartbeats into the summaries every
/// minute. The latest state of each node is never pruned.
struct RetentionService: Service {
    let store: Store
    let retention: TimeInterval
    let period: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try store.rollUpHeartbeats()
                    let removed = try store.pruneHeartbeats(before: Date().addingTimeInterval(-retention))
                    try store.pruneHeartbeatMinutes(before: Date().addingTimeInterval(-retention))
                    if removed > 0 { logger.info("pruned heartbeats", metadata: ["rows": "\(removed)"]) }
                } catch {
                    logger.error("heartbeat pruning failed", metadata: ["error": "\(error)"])
                }
                // Roll up every minute; prune every `period`.
                let rounds = max(1, Int(period.components.seconds / 60))
                for _ in 0..<rounds where !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(60))
                    do { try store.rollUpHeartbeats() } catch { logger.error("heartbeat roll-up failed", metadata: ["error": "\(error)"]) }
                }
            }
        }
    }
}
