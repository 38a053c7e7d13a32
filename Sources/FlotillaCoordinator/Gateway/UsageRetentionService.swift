import Foundation
import Logging
import ServiceLifecycle

/// Prunes the per-call usage records older than `retention` (whole UTC days, the daily roll-up
/// kept) at start and then every `period` (`serve --usage-retention`).
struct UsageRetentionService: Service {
    let ledger: any UsageLedger
    let retention: TimeInterval
    var period: Duration = .seconds(3600)
    let logger: Logger
    var clock: @Sendable () -> Date = { Date() }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            repeat {
                await pruneOnce()
            } while (try? await Task.sleep(for: period)) != nil
        }
    }

    /// One pass: the records of the days before `now − retention` go.
    func pruneOnce() async {
        do {
            let removed = try await ledger.pruneRecords(before: clock().addingTimeInterval(-retention))
            if removed > 0 { logger.info("pruned usage records", metadata: ["rows": "\(removed)"]) }
        } catch {
            // A pass cut short by shutdown is not a failure: the next start goes on from there.
            if Task.isCancelled { return }
            logger.error("usage record pruning failed", metadata: ["error": "\(error)"])
        }
    }
}
