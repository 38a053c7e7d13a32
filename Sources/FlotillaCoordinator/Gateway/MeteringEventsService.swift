import ServiceLifecycle

/// Writes the aggregated `rate_limited` events once a minute (and once more at shutdown).
struct MeteringEventsService: Service {
    let metering: GatewayMetering
    var period: Duration = .seconds(60)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: period)
                await metering.flushRateLimitEvents()
            }
        }
        await metering.flushRateLimitEvents()
    }
}
