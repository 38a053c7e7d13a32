import Foundation
import Logging
import ServiceLifecycle

/// Deletes time-series heartbeats (and their per-minute summaries) older than the retention
/// window, at start and then every `period`, and folds new heartbeats into the summaries every
/// minute. The latest state of each node is never pruned.
struct RetentionService: Service {
    let store: any HeartbeatStore
    let retention: TimeInterval
    let period: Duration
    let logger: Logger
    /// Heartbeats summarised per transaction, and transactions per pass at most.
    var rollUpBatch: Int64 = 500_000
    var rollUpBatches = 20

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await rollUp()
                    let removed = try await store.pruneHeartbeats(before: Date().addingTimeInterval(-retention))
                    try await store.pruneHeartbeatMinutes(before: Date().addingTimeInterval(-retention))
                    if removed > 0 { logger.info("pruned heartbeats", metadata: ["rows": "\(removed)"]) }
                } catch {
                    logger.error("heartbeat pruning failed", metadata: ["error": "\(error)"])
                }
                // Roll up every minute; prune every `period`.
                let rounds = max(1, Int(period.components.seconds / 60))
                for _ in 0..<rounds where !Task.isCancelled {
                    // Shutting down (or leadership lost): no roll-up on a cancelled task.
                    guard (try? await Task.sleep(for: .seconds(60))) != nil else { break }
                    do { try await rollUp() } catch { logger.error("heartbeat roll-up failed", metadata: ["error": "\(error)"]) }
                }
            }
        }
    }

    /// Folds the heartbeats not yet summarised, a batch per transaction, up to `rollUpBatches`
    /// batches a pass: a backlog (a seeded or upgraded database, roll-ups that failed for a while)
    /// is caught up within a few passes rather than a batch a minute, since charts scan whatever
    /// is left unsummarised on every view. Between batches, other writers (heartbeats, usage
    /// records) get the database's writer.
    func rollUp() async throws(CoordinatorError) {
        for _ in 0..<rollUpBatches {
            guard try await store.rollUpHeartbeats(maxRows: rollUpBatch) == rollUpBatch, !Task.isCancelled else { return }
            await Task.yield()
        }
    }
}
