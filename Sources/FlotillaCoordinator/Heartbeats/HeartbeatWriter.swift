import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle
import GRDB
import Synchronization

/// Group commit for heartbeats: requests queue their heartbeat and wait; one writer task commits
/// everything queued so far in a single transaction and then releases every waiter at once.
///
/// A heartbeat is acknowledged only after its transaction is durable, and under load thousands of
/// heartbeats share one fsync instead of paying one each.
public final class HeartbeatWriter: Service {
    private struct Queue {
        var entries: [HeartbeatEntry] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var closed = false
    }

    private let store: Store
    private let logger: Logger
    private let maxBatch: Int
    private let queue = Mutex(Queue())
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: Store, logger: Logger, maxBatch: Int = 8192) {
        self.store = store
        self.logger = logger
        self.maxBatch = maxBatch
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a heartbeat of `nodeID` and returns once it is committed; throws if the commit
    /// failed or the coordinator is shutting down. The receive time is taken here, under the
    /// queue lock, so the time series is appended in time order (its pruning relies on that).
    func submit(nodeID: String, readings: HeartbeatRequest) async throws(CoordinatorError) {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let accepted = queue.withLock { q in
                    guard !q.closed else { return false }
                    q.entries.append(HeartbeatEntry(nodeID: nodeID, receivedAt: Date(), readings: readings))
                    q.waiters.append(continuation)
                    return true
                }
                if accepted {
                    wake.yield()
                } else {
                    continuation.resume(throwing: CoordinatorError(.internal, "coordinator is shutting down"))
                }
            }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("heartbeat not stored: \(error)")
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeStream {
                await self.drain()
            }
        }
        queue.withLock { $0.closed = true }
        await drain()
    }

    /// Commits batches until the queue is empty.
    private func drain() async {
        while true {
            let (entries, waiters) = queue.withLock { q -> ([HeartbeatEntry], [CheckedContinuation<Void, any Error>]) in
                let n = min(q.entries.count, maxBatch)
                let batch = (Array(q.entries.prefix(n)), Array(q.waiters.prefix(n)))
                q.entries.removeFirst(n)
                q.waiters.removeFirst(n)
                return batch
            }
            if entries.isEmpty { return }
            do {
                try await store.pool.write { [store] db in
                    try store.writeHeartbeatsInTransaction(db, entries)
                }
                for waiter in waiters { waiter.resume() }
            } catch {
                logger.error("heartbeat batch failed", metadata: ["count": "\(entries.count)", "error": "\(error)"])
                for waiter in waiters { waiter.resume(throwing: error) }
            }
        }
    }

    deinit { wake.finish() }
}
