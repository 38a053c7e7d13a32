import ServiceLifecycle

/// Writes what was counted since the last flush, once a period and once more at shutdown: the
/// aggregated `rate_limited` events, and the failed dashboard sign-ins not yet in the audit log.
struct PeriodicFlushService: Service {
    var period: Duration = .seconds(60)
    let flush: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: period)) != nil {
                await flush()
            }
        }
        // The last flush runs after cancellation, and SQLite writes refuse a cancelled task: an
        // awaited child-less task (not cancelled with this one) writes what was counted so far.
        await Task { [flush] in await flush() }.value
    }
}
