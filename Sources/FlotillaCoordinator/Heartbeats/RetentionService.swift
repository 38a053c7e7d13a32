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
    /// Heartbeats summarised per transaction.
    var rollUpBatch: Int64 = 500_000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try rollUp()
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
                    do { try rollUp() } catch { logger.error("heartbeat roll-up failed", metadata: ["error": "\(error)"]) }
                }
            }
        }
    }

    /// Folds every heartbeat not yet summarised, a batch per transaction: a backlog (a start
    /// after downtime, a burst) is caught up at once rather than a batch a minute, since charts
    /// scan whatever is left unsummarised on every view.
    func rollUp() throws(CoordinatorError) {
        while try store.rollUpHeartbeats(maxRows: rollUpBatch) == rollUpBatch, !Task.isCancelled {}
    }
}
