import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// `/ui/stream`: server-sent events carrying the figures pages mark `data-live` (node counts by
/// status, progress of running rollouts), every 2 seconds. A stream ends after 2 minutes (the
/// browser reconnects on its own) and at once when the coordinator shuts down.
struct DashboardStream {
    let services: CoordinatorServices
    static let period: Duration = .seconds(2)
    static let lifetime: Duration = .seconds(120)

    /// The live figures, by `data-live` key: computed at most once per period for every open
    /// page together.
    func values(now: Date) async throws(CoordinatorError) -> [String: String] {
        if let cached = services.live.cached(maxAge: .milliseconds(1500)) { return cached }
        let values = try await compute(now: now)
        services.live.store(values)
        return values
    }

    private func compute(now: Date) async throws(CoordinatorError) -> [String: String] {
        var values: [String: String] = [:]
        var total = 0
        for status in NodeStatus.allCases { values["nodes-" + status.rawValue] = "0" }
        var counts: [NodeStatus: Int] = [:]
        for row in try await services.store.nodeStatusCounts(now: now, interval: services.heartbeatInterval) {
            counts[row.status, default: 0] += row.count
            total += row.count
        }
        for (status, count) in counts { values["nodes-" + status.rawValue] = String(count) }
        values["nodes-total"] = String(total)
        for view in try await services.releases.rolloutViews(try services.store.activeRolloutVersions()) {
            let version = view.version
            values["rollout-\(version)-state"] = view.state.rawValue
            for (status, count) in view.counts { values["rollout-\(version)-\(status)"] = String(count) }
            values["rollout-\(version)-applied"] = String(view.counts["applied"] ?? 0)
            values["rollout-\(version)-waves"] = "\(view.wavesStarted) / \(view.waves)"
        }
        return values
    }

    func response(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        var headers = DashboardResponse.securityHeaders()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        guard let session = context.dashboardSession else { throw .internal("stream route is missing DashboardAuthMiddleware") }
        guard services.live.openStream() else {
            throw CoordinatorError(.rateLimited, "too many live dashboard pages are open; this one will not update itself", retryAfter: 30)
        }
        // Released with the response, whether or not the server ever ran its body (a browser
        // that left before the headers went out), so no slot is lost.
        let slot = StreamSlot(live: services.live)
        let stream = self
        let logger = context.logger
        let services = services
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let deadline = ContinuousClock.now + Self.lifetime
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            while ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                // Signed out, expired or the admin token replaced: the stream ends with the session.
                guard (try? await services.validSession(idHash: session.idHash)) != nil else { break }
                do {
                    try await writer.write(ByteBuffer(string: try await stream.event(now: Date())))
                } catch let error as CoordinatorError {
                    logger.error("dashboard stream stopped", metadata: ["error": "\(error)"])
                    break
                }
                try? await Task.sleep(for: Self.period)
            }
            withExtendedLifetime(slot) {}
            try await writer.finish(nil)
        })
    }

    /// One `update` event with the values as JSON.
    func event(now: Date) async throws(CoordinatorError) -> String {
        let values = try await values(now: now)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(values)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: update\ndata: \(json)\n\n"
    }
}

/// One live stream's slot, given back when the stream's response is released.
final class StreamSlot: Sendable {
    let live: DashboardLive

    init(live: DashboardLive) { self.live = live }

    deinit { live.closeStream() }
}

/// The figures every open dashboard page shares, and how many live streams are open.
final class DashboardLive: Sendable {
    /// Most live streams at once; more pages still load, they just do not update themselves.
    static let maxStreams = 64
    private let state = Mutex<(values: [String: String], at: ContinuousClock.Instant?, streams: Int)>(([:], nil, 0))

    func cached(maxAge: Duration) -> [String: String]? {
        state.withLock { state in
            guard let at = state.at, ContinuousClock.now - at < maxAge else { return nil }
            return state.values
        }
    }

    func store(_ values: [String: String]) {
        state.withLock { $0.values = values; $0.at = .now }
    }

    /// Forgets the figures (an operator changed the fleet: no page may be sent the old state).
    func invalidate() {
        state.withLock { $0.at = nil }
    }

    /// Takes a stream slot; false when all are taken.
    func openStream() -> Bool {
        state.withLock { state in
            guard state.streams < Self.maxStreams else { return false }
            state.streams += 1
            return true
        }
    }

    func closeStream() {
        state.withLock { $0.streams -= 1 }
    }
}
