import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `GET /metrics`: the Prometheus text format, for a caller presenting the metrics token
/// (`DATA/metrics.token`) or the admin token as `Authorization: Bearer`. Nothing a node's
/// certificate or gateway key can open.
struct MetricsAPI {
    let services: CoordinatorServices

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        router.get("/metrics") { request, _ in try await scrape(request) }
    }

    /// The router of the separate plain-HTTP listener: `/metrics` without a token, nothing else.
    static func listenerRouter(services: CoordinatorServices) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/metrics") { _, _ in
            do {
                return try await MetricsAPI(services: services).exposition()
            } catch {
                services.logger.error("metrics scrape failed", metadata: ["error": "\(error)"])
                return Response(status: .internalServerError)
            }
        }
        return router
    }

    func scrape(_ request: Request) async throws(CoordinatorError) -> Response {
        guard let token = request.bearerToken else {
            throw CoordinatorError(.unauthorized, "/metrics needs Authorization: Bearer <metrics token> (DATA/metrics.token)")
        }
        guard services.credentials.isMetricsToken(token) || services.credentials.isAdminToken(token) else {
            throw CoordinatorError(.unauthorized, "not the metrics token of this coordinator")
        }
        return try await exposition()
    }

    /// The metrics as a response, to a caller already admitted (by token, or by reaching the
    /// separate metrics listener at all).
    func exposition() async throws(CoordinatorError) -> Response {
        services.metrics.setGauges(try await samples())
        let body = services.metrics.render()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The fleet's state now: nodes by group and status, rollouts by state, releases, and every
    /// budget's spend, holds and limit in its current period.
    func samples() async throws(CoordinatorError) -> [FleetMetrics.Sample] {
        var samples: [FleetMetrics.Sample] = []
        let now = Date()
        var byGroup: [String: [NodeStatus: Int]] = [:]
        for row in try await services.store.nodeStatusCounts(now: now, interval: services.heartbeatInterval) {
            byGroup[row.group, default: [:]][row.status] = row.count
        }
        for (group, counts) in byGroup.sorted(by: { $0.key < $1.key }) {
            for status in NodeStatus.allCases {
                samples.append(.init(name: "flotilla_nodes", labels: [("group", group), ("status", status.rawValue)],
                                     value: Double(counts[status] ?? 0)))
            }
        }
        let rollouts = try await services.store.rolloutStateCounts()
        for state in RolloutState.allCases {
            samples.append(.init(name: "flotilla_rollouts", labels: [("state", state.rawValue)], value: Double(rollouts[state] ?? 0)))
        }
        await samples.append(.init(name: "flotilla_releases", labels: [], value: Double(try services.store.releaseCount())))
        // Per-node budget series only when asked for (`serve --metrics-per-node`).
        for scope in await AdminBudgetAPI.scopes(services, withNodes: services.metricsPerNode) {
            let (check, state) = (scope.check, scope.state)
            let labels = [("scope", check.label), ("period", check.key.period)]
            samples.append(.init(name: "flotilla_budget_spend_usd", labels: labels, value: Double(state.spentNanos) / 1e9))
            samples.append(.init(name: "flotilla_budget_reserved_usd", labels: labels, value: Double(state.reservedNanos) / 1e9))
            samples.append(.init(name: "flotilla_budget_limit_usd", labels: labels, value: Double(check.limitNanos) / 1e9))
        }
        return samples
    }
}
