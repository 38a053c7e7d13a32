import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `/ui/stream`: server-sent events carrying the figures pages mark `data-live` (node counts by
/// status, progress of running rollouts), every 2 seconds. A stream ends after 2 minutes (the
/// browser reconnects on its own) and at once when the coordinator shuts down.
struct DashboardStream {
    let services: CoordinatorServices
    static let period: Duration = .seconds(2)
    static let lifetime: Duration = .seconds(120)

    /// The live figures now, by `data-live` key.
    func values(now: Date) throws(CoordinatorError) -> [String: String] {
        var values: [String: String] = [:]
        var total = 0
        for status in NodeStatus.allCases { values["nodes-" + status.rawValue] = "0" }
        var counts: [NodeStatus: Int] = [:]
        for row in try services.store.nodeStatusCounts(now: now, interval: services.heartbeatInterval) {
            counts[row.status, default: 0] += row.count
            total += row.count
        }
        for (status, count) in counts { values["nodes-" + status.rawValue] = String(count) }
        values["nodes-total"] = String(total)
        for version in try services.store.activeRolloutVersions() {
            guard let view = try services.releases.rolloutView(version: version, withNodes: false) else { continue }
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
        let stream = self
        let logger = context.logger
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let deadline = ContinuousClock.now + Self.lifetime
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            while ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    try await writer.write(ByteBuffer(string: stream.event(now: Date())))
                } catch let error as CoordinatorError {
                    logger.error("dashboard stream stopped", metadata: ["error": "\(error)"])
                    break
                }
                try? await Task.sleep(for: Self.period)
            }
            try await writer.finish(nil)
        })
    }

    /// One `update` event with the values as JSON.
    func event(now: Date) throws(CoordinatorError) -> String {
        let values = try values(now: now)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(values)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return "event: update\ndata: \(json)\n\n"
    }
}
