import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Group commit for node release reports (`GroupCommitQueue`): a report is acknowledged once
/// durable, and a thousand nodes reporting at once share a handful of transactions. Each commit
/// pokes the rollout engine.
final class ReleaseReportWriter: Service {
    private let queue: GroupCommitQueue<QueuedReport>
    private let logger: Logger

    init(store: any ReleaseStore, logger: Logger, onCommit: @escaping @Sendable () -> Void) {
        self.logger = logger
        let commit: BatchCommit<QueuedReport> = switch store.reportCommit {
        case .blocking(let write): .blocking { reports in
            try write(reports)
            onCommit()
        }
        case .async(let write): .async { reports in
            try await write(reports)
            onCommit()
        }
        }
        queue = GroupCommitQueue(name: "flotilla-reports", maxBatch: 8192, commit: commit)
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
