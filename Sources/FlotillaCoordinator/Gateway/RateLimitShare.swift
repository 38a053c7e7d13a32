import Foundation
import ServiceLifecycle

/// Makes fleet, group and node rate limits hold across coordinators sharing a database: every
/// `interval`, what calls here took from each scope is sent over the bus, and every other
/// coordinator takes it out of its own buckets (`RateLimiter.applyRemote`). A limit is then
/// exceeded by at most what the other coordinators admit within one interval before their
/// report arrives (docs/scaling.md).
struct RateLimitShare: Service {
    let limiter: RateLimiter
    let bus: any ClusterBus
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        limiter.enableSharing()
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: interval)) != nil {
                for chunk in RateLimiter.encodeUse(limiter.drainLocalUse()) {
                    await bus.publish(.rateUse(origin: bus.origin, report: chunk))
                }
            }
        }
    }
}
