import FlotillaProtocol
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Group commit for node release reports (`GroupCommitQueue`): a report is acknowledged once
/// durable, and a thousand nodes reporting at once share a handful of transactions. Each commit
/// pokes the rollout engine.
final class ReleaseReportWriter: Service {
    private let queue: GroupCommitQueue<QueuedReport>
    private let logger: Logger

    init(store: Store, logger: Logger, onCommit: @escaping @Sendable () -> Void) {
        self.logger = logger
        queue = GroupCommitQueue(name: "flotilla-reports", maxBatch: 8192) { reports in
            try store.pool.write { db in try store.recordReportsInTransaction(db, reports) }
            onCommit()
        }
    }

    /// Queues a report and returns once it is committed.
    func submit(nodeID: String, group: String, report: ReleaseReport) async throws(CoordinatorError) {
        do {
            try await queue.submit { QueuedReport(nodeID: nodeID, group: group, report: report, at: Date()) }
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw .internal("report not stored: \(error)")
        }
    }

    func run() async throws {
        await queue.run { [logger] count, error in
            logger.error("release report batch failed", metadata: ["count": "\(count)", "error": "\(error)"])
        }
    }
}
