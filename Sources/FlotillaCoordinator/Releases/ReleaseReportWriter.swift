import FlotillaProtocol
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Group commit for node release reports: a report is acknowledged once durable, and a thousand
/// nodes reporting at once share a handful of transactions.
final class ReleaseReportWriter: Service {
    private struct Queue {
        var reports: [QueuedReport] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var closed = false
    }

    private let store: Store
    private let logger: Logger
    private let onCommit: @Sendable () -> Void
    private let queue = Mutex(Queue())
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: Store, logger: Logger, onCommit: @escaping @Sendable () -> Void) {
        self.store = store
        self.logger = logger
        self.onCommit = onCommit
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a report and returns once it is committed.
    func submit(nodeID: String, group: String, report: ReleaseReport) async throws(CoordinatorError) {
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let accepted = queue.withLock { q in
                    guard !q.closed else { return false }
                    q.reports.append(QueuedReport(nodeID: nodeID, group: group, report: report, at: Date()))
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
            throw .internal("report not stored: \(error)")
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeStream { await self.drain() }
        }
        queue.withLock { $0.closed = true }
        await drain()
    }

    private func drain() async {
        while true {
            let (reports, waiters) = queue.withLock { q in
                let batch = (q.reports, q.waiters)
                q.reports.removeAll()
                q.waiters.removeAll()
                return batch
            }
            if reports.isEmpty { return }
            do {
                try await store.pool.write { [store] db in try store.recordReportsInTransaction(db, reports) }
                for waiter in waiters { waiter.resume() }
                onCommit()
            } catch {
                logger.error("release report batch failed", metadata: ["count": "\(reports.count)", "error": "\(error)"])
                for waiter in waiters { waiter.resume(throwing: error) }
            }
        }
    }

    deinit { wake.finish() }
}
