import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/budgets`: every budget scope with its spend, holds and limit this period, and the
/// budget and rate-limit events of the last 7 days.
struct BudgetsPage {
    let services: CoordinatorServices

    func render(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let spec = services.gatewayConfig.catalog.spec.budgets
        let scopes = await AdminBudgetAPI.scopes(services, withNodes: true)
        let rows = scopes.map { scope -> HTML in
            let (check, state) = (scope.check, scope.state)
            return """
                <tr><th scope="row">\(check.label)</th><td>\(check.key.period) \(check.key.periodKey)</td>\
                <td class="num">\(DashboardFormat.usd(nanos: state.spentNanos))</td><td class="num">\(DashboardFormat.usd(nanos: state.reservedNanos))</td>\
                <td class="num">\(DashboardFormat.usd(nanos: check.limitNanos))</td>\
                <td>\(DashboardFormat.meter(percent: scope.percentUsed))</td>\
                <td>\(DashboardFormat.state(scope.status.rawValue))</td><td>\(Timestamps.rfc3339(check.resetsAt))</td></tr>
                """
        }
        let events = try await services.metering.events.events(since: Date().addingTimeInterval(-7 * 86_400), limit: 500)
        let eventRows = events.map { event -> HTML in
            "<tr><td>\(Timestamps.rfc3339(event.at))</td><td>\(event.kind.rawValue)</td><td>\(event.scope)</td><td>\(event.message)</td></tr>"
        }
        let content: HTML = """
            <p class="muted">Periods in \(spec?.timeZone ?? "UTC"); soft threshold \(DashboardFormat.number(spec?.softThresholdPercent ?? 80, decimals: 0))%.</p>
            \(scopes.isEmpty ? "<p class=\"muted\">No budgets are set (budgets: in fleet.yaml).</p>" : """
            <div class="table-wrap"><table id="budgets-table"><caption>Budgets this period</caption>
            <thead><tr><th scope="col">Scope</th><th scope="col">Period</th><th scope="col" class="num">Spent</th><th scope="col" class="num">Held</th><th scope="col" class="num">Limit</th><th scope="col">Used</th><th scope="col">State</th><th scope="col">Resets</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """ as HTML)
            <h2>Events, last 7 days</h2>
            \(events.isEmpty ? "<p class=\"muted\">No budget or rate-limit events.</p>" : """
            <div class="table-wrap"><table id="events-table"><caption>Thresholds crossed, budgets exhausted and rate limits hit</caption>
            <thead><tr><th scope="col">At</th><th scope="col">Kind</th><th scope="col">Scope</th><th scope="col">Message</th></tr></thead>
            <tbody>\(eventRows)</tbody></table></div>
            """ as HTML)
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Budgets & events", active: "/ui/budgets", csrf: context.dashboardSession?.csrfToken, content))
    }
}
