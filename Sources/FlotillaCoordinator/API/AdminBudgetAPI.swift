import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Admin endpoints of budgets and events.
struct AdminBudgetAPI {
    let services: CoordinatorServices

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.get("budgets") { _, _ in try await budgets() }
        group.get("events") { request, _ in try await events(request) }
    }

    /// Every budget scope in force with its spend, holds and state in the current periods, and
    /// the reservations charged unsettled after a restart.
    func budgets() async throws(CoordinatorError) -> Response {
        let spec = services.gatewayConfig.catalog.spec.budgets
        let scopes = await Self.scopes(services, withNodes: true).map { scope in
            BudgetScopeView(
                scope: scope.check.label, period: scope.check.key.period, periodKey: scope.check.key.periodKey,
                spentUSD: Double(scope.state.spentNanos) / 1e9, reservedUSD: Double(scope.state.reservedNanos) / 1e9,
                limitUSD: Double(scope.check.limitNanos) / 1e9, percent: scope.percentUsed,
                state: scope.status, resetsAt: Timestamps.rfc3339(scope.check.resetsAt)
            )
        }
        let unsettled = try await services.ledger.unsettledReservations().map {
            UnsettledView(requestID: $0.requestID, at: Timestamps.rfc3339($0.at), node: services.directory.node(id: $0.nodeID)?.name ?? $0.nodeID,
                          group: $0.group, chargedUSD: Double($0.amountNanos) / 1e9)
        }
        return try JSONBody.encoded(BudgetsReport(timeZone: spec?.timeZone ?? "UTC", softThresholdPercent: spec?.softThresholdPercent ?? 80,
                                        scopes: scopes, unsettled: unsettled))
    }

    /// `?since_seconds=N` (default 7 days).
    func events(_ request: Request) async throws(CoordinatorError) -> Response {
        var since = 7 * 86_400.0
        if let text = request.uri.queryParameters.get("since_seconds") {
            guard let value = Double(text), value > 0, value.isFinite else { throw .invalidRequest("since_seconds must be a positive number") }
            since = value
        }
        let events = try await services.metering.events.events(since: Date().addingTimeInterval(-since), limit: 10_000)
        return try JSONBody.encoded(events.map { EventView(at: Timestamps.rfc3339($0.at), kind: $0.kind, scope: $0.scope, message: $0.message) })
    }

    /// The budgets in force this period, the fleet's and groups' and (`withNodes`) those of every
    /// node not revoked, with their counters' figures: the admin API, the dashboard's budgets
    /// and overview, and `/metrics` all show these.
    static func scopes(_ services: CoordinatorServices, withNodes: Bool) async -> [BudgetScopeFigures] {
        let nodes = withNodes ? services.directory.all().filter { $0.adminState != .revoked } : []
        let checks = BudgetPolicy.allChecks(services.gatewayConfig.catalog.spec.budgets, nodes: nodes, at: services.metering.clock())
        let figures = await services.ledger.counters(checks.map(\.key))
        return checks.map { BudgetScopeFigures(check: $0, state: figures[$0.key] ?? CounterState()) }
    }

    /// For each of `nodeIDs` with a budget: the highest share of a limit it has spent, over its
    /// own, its group's and the fleet's budgets in the current periods (no entry without budgets).
    /// Each node's checks are computed once and all counters read in one call.
    static func budgetUse(_ services: CoordinatorServices, nodeIDs: [String]) async -> [String: Double] {
        let budgets = services.gatewayConfig.catalog.spec.budgets
        let now = services.metering.clock()
        var checks: [String: [BudgetCheck]] = [:]
        for id in nodeIDs {
            guard let node = services.directory.node(id: id) else { continue }
            let nodeChecks = BudgetPolicy.checks(budgets, node: node, group: services.effectiveGroup(of: node), at: now)
            if !nodeChecks.isEmpty { checks[id] = nodeChecks }
        }
        guard !checks.isEmpty else { return [:] }
        let figures = await services.ledger.counters(Array(Set(checks.values.flatMap { $0.map(\.key) })))
        return checks.compactMapValues { nodeChecks in
            nodeChecks.map { BudgetScopeFigures(check: $0, state: figures[$0.key] ?? CounterState()).percentUsed }.max()
        }
    }
}

/// A budget in force and its counter's figures now.
struct BudgetScopeFigures {
    var check: BudgetCheck
    var state: CounterState

    /// The share of the limit spent, in percent.
    var percentUsed: Double { Double(state.spentNanos) / Double(check.limitNanos) * 100 }
    var status: BudgetState { BudgetPolicy.state(state, check) }
}
