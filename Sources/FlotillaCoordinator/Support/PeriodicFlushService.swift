import ServiceLifecycle

/// Writes the aggregated `rate_limited` events once a minute (and once more at shutdown).
struct MeteringEventsService: Service {
    let metering: GatewayMetering
    var period: Duration = .seconds(60)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: period)) != nil {
                await metering.flushRateLimitEvents()
            }
        }
        // The last flush runs after cancellation, and SQLite writes refuse a cancelled task: an
        // awaited child-less task (not cancelled with this one) writes the refusals counted so far.
        await Task { [metering] in await metering.flushRateLimitEvents() }.value
    }
}
