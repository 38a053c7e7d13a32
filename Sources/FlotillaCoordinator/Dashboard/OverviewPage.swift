import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/`: nodes by status, spend today and this month against the fleet's and groups'
/// budgets, rollouts in progress and recent events. Counts and rollout progress update live.
struct OverviewPage {
    let services: CoordinatorServices

    func render(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let now = Date()
        let live = try await DashboardStream(services: services).values(now: now)
        let statuses: [NodeStatus] = [.online, .stale, .offline, .pending, .revoked]
        let cards = (["total"] + statuses.map(\.rawValue)).map { key -> HTML in
            """
            <div class="card"><div class="figure" data-live="nodes-\(key)">\(live["nodes-" + key] ?? "0")</div>\
            <div class="label">\(key == "total" ? "nodes" : key)</div></div>
            """
        }
        let spend = try await services.ledger.dailySpend(fromDay: UTCCalendar.day(UTCCalendar.startOfMonth(now)), toDay: UTCCalendar.day(now), nodeID: nil)
        let today = spend.filter { $0.day == UTCCalendar.day(now) }.reduce(0) { $0 + $1.costNanos }
        let month = spend.reduce(0) { $0 + $1.costNanos }
        let calls = spend.filter { $0.day == UTCCalendar.day(now) }.reduce(0) { $0 + $1.calls }
        let content: HTML = """
            <div data-stream="/ui/stream"></div>
            <section aria-labelledby="nodes-heading">
            <h2 id="nodes-heading">Nodes <small class="muted" id="live-stamp"></small></h2>
            <div class="cards">\(cards)</div>
            </section>
            <section aria-labelledby="spend-heading">
            <h2 id="spend-heading">Gateway spend</h2>
            <div class="cards">
            <div class="card"><div class="figure" id="spend-today">\(DashboardFormat.usd(nanos: today))</div><div class="label">today (UTC), \(calls) calls</div></div>
            <div class="card"><div class="figure" id="spend-month">\(DashboardFormat.usd(nanos: month))</div><div class="label">this month (UTC)</div></div>
            </div>
            \(try await budgets(now: now))
            </section>
            <section aria-labelledby="rollouts-heading">
            <h2 id="rollouts-heading">Rollouts in progress</h2>
            \(try await rollouts())
            </section>
            <section aria-labelledby="events-heading">
            <h2 id="events-heading">Recent events</h2>
            \(try await events(now: now))
            </section>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Fleet overview", active: "/ui/", csrf: context.dashboardSession?.csrfToken, content))
    }

    /// The fleet's and groups' budgets this period (per-node budgets are on the budgets page).
    private func budgets(now: Date) async throws(CoordinatorError) -> HTML {
        let scopes = await AdminBudgetAPI.scopes(services, withNodes: false)
        guard !scopes.isEmpty else { return "<p class=\"muted\">No fleet or group budgets are set (budgets: in fleet.yaml).</p>" }
        let rows = scopes.map { scope -> HTML in
            let (check, state) = (scope.check, scope.state)
            return """
                <tr><th scope="row">\(check.label)</th><td>\(check.key.period)</td><td class="num">\(DashboardFormat.usd(nanos: state.spentNanos))</td>\
                <td class="num">\(DashboardFormat.usd(nanos: check.limitNanos))</td><td>\(DashboardFormat.meter(percent: scope.percentUsed))</td>\
                <td>\(DashboardFormat.state(scope.status.rawValue))</td></tr>
                """
        }
        return """
            <div class="table-wrap"><table id="budget-table"><caption>Budgets against their limits this period</caption>
            <thead><tr><th scope="col">Scope</th><th scope="col">Period</th><th scope="col" class="num">Spent</th><th scope="col" class="num">Limit</th><th scope="col">Used</th><th scope="col">State</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
    }

    private func rollouts() async throws(CoordinatorError) -> HTML {
        let views = try await services.releases.rolloutViews(try services.store.activeRolloutVersions())
        guard !views.isEmpty else { return "<p class=\"muted\">No rollout is running or paused.</p>" }
        let rows = views.map { view -> HTML in
            """
            <tr><th scope="row"><a href="/ui/rollouts/\(view.version)">Release \(view.version)</a></th><td>\(view.groups.joined(separator: ", "))</td>\
            <td data-live="rollout-\(view.version)-state">\(view.state.rawValue)</td>\
            <td class="num"><span data-live="rollout-\(view.version)-applied">\(view.counts["applied"] ?? 0)</span> / \(view.total)</td>\
            <td class="num">\(view.wavesStarted) / \(view.waves)</td></tr>
            """
        }
        return """
            <div class="table-wrap"><table id="rollout-table"><caption>Running and paused rollouts</caption>
            <thead><tr><th scope="col">Rollout</th><th scope="col">Groups</th><th scope="col">State</th><th scope="col" class="num">Applied</th><th scope="col" class="num">Waves</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
    }

    private func events(now: Date) async throws(CoordinatorError) -> HTML {
        let fleetEvents = try await services.metering.events.events(since: now.addingTimeInterval(-86_400), limit: 10)
        let actions = try await services.auditLog.entries(since: now.addingTimeInterval(-86_400), limit: 10)
        var rows: [(at: String, kind: String, text: String)] = fleetEvents.map {
            (AuditChain.timestamp($0.at), $0.kind.rawValue, "\($0.scope): \($0.message)")
        }
        rows += actions.map { ($0.at, $0.action, "\($0.actor) from \($0.source)" + ($0.target.isEmpty ? "" : " on \($0.target)")) }
        rows.sort { $0.at > $1.at }
        guard !rows.isEmpty else { return "<p class=\"muted\">No budget, rate-limit or admin events in the last 24 hours.</p>" }
        let body = rows.prefix(15).map { row -> HTML in
            "<tr><td>\(String(row.at.prefix(19)).replacingOccurrences(of: "T", with: " "))</td><td>\(row.kind)</td><td>\(row.text)</td></tr>"
        }
        return """
            <div class="table-wrap"><table id="event-table"><caption>Budget and rate-limit events and admin actions, last 24 hours (UTC)</caption>
            <thead><tr><th scope="col">At</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
            <tbody>\(body)</tbody></table></div>
            """
    }
}
