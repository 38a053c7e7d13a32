import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Group commit for heartbeats: a heartbeat is acknowledged only after its transaction is
/// durable, and under load thousands of heartbeats share one fsync (`GroupCommitQueue`).
public final class HeartbeatWriter: Service {
    private let queue: GroupCommitQueue<HeartbeatEntry>
    private let logger: Logger

    init(store: any HeartbeatStore, logger: Logger, maxBatch: Int = 8192) {
        self.logger = logger
        queue = GroupCommitQueue(name: "flotilla-heartbeats", maxBatch: maxBatch, commit: store.heartbeatCommit)
    }

    /// Queues a heartbeat of `nodeID` and returns once it is committed; throws if the commit
    /// failed or the coordinator is shutting down. The receive time is taken under the queue
    /// lock, so the time series is appended in time order (its pruning relies on that).
    func submit(nodeID: String, readings: HeartbeatRequest) async throws(CoordinatorError) {
        do {
            try await queue.submit { HeartbeatEntry(nodeID: nodeID, receivedAt: Date(), readings: readings) }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("heartbeat not stored: \(error)")
        }
    }

    public func run() async throws {
        await queue.run { [logger] count, error in
            logger.error("heartbeat batch failed", metadata: ["count": "\(count)", "error": "\(error)"])
        }
    }
}
