import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/rollouts`: every rollout with its progress; one rollout's waves and per-node states;
/// pause and resume, and abort and rollback after a confirmation page. Actions go through the
/// same code as the admin API (audited with the dashboard session as the actor).
struct RolloutsPage {
    let services: CoordinatorServices
    /// Most nodes listed on a rollout's page (the counts cover all of them).
    static let nodeRows = 500

    func addRoutes(to ui: RouterGroup<CoordinatorRequestContext>) {
        ui.get("rollouts") { _, context in try await list(context) }
        ui.get("rollouts/rollback") { request, context in try confirmRollback(request, context) }
        ui.post("rollouts/rollback") { request, context in try await rollback(request, context) }
        ui.get("rollouts/:version") { request, context in try await show(request, context) }
        ui.post("rollouts/:version/pause") { _, context in try await act(context, .paused) }
        ui.post("rollouts/:version/resume") { _, context in try await act(context, .running) }
        ui.get("rollouts/:version/abort") { _, context in try await confirmAbort(context) }
        ui.post("rollouts/:version/abort") { _, context in try await act(context, .aborted) }
    }

    func list(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let views = try await services.releases.rolloutViews(try services.store.allRolloutVersions(limit: 50))
        let rows = views.map { view -> HTML in
            """
            <tr><th scope="row"><a href="/ui/rollouts/\(view.version)">Release \(view.version)</a></th><td>\(view.groups.joined(separator: ", "))</td>\
            <td>\(DashboardFormat.state(view.state.rawValue))</td><td class="num">\(view.counts["applied"] ?? 0) / \(view.total)</td>\
            <td class="num">\(view.counts["failed"] ?? 0)</td><td class="num">\(view.wavesStarted) / \(view.waves)</td><td>\(view.createdAt)</td></tr>
            """
        }
        let groups = try await services.store.latestReleases().keys.sorted()
        let rollbackLinks = groups.map { "<li><a href=\"/ui/rollouts/rollback?group=\(FormData.encode($0))\">Roll back group \($0)…</a></li>" as HTML }
        let content: HTML = """
            \(views.isEmpty ? "<p class=\"muted\">No release has been published yet (flotilla apply).</p>" : """
            <div class="table-wrap"><table id="rollouts-table"><caption>The 50 newest rollouts</caption>
            <thead><tr><th scope="col">Rollout</th><th scope="col">Groups</th><th scope="col">State</th><th scope="col" class="num">Applied</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Waves</th><th scope="col">Created</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """ as HTML)
            \(groups.isEmpty ? HTML.empty : "<h2>Rollback</h2><ul>\(rollbackLinks)</ul>")
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Rollouts", active: "/ui/rollouts", csrf: context.dashboardSession?.csrfToken, content))
    }

    func show(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let version = try AdminReleaseAPI.version(context)
        guard let view = try await services.releases.rolloutView(version: version, withNodes: true) else { throw .notFound("no rollout \(version)") }
        let csrf = context.dashboardSession?.csrfToken ?? ""
        var actions: [HTML] = []
        if view.state == .running { actions.append(DashboardLayout.postButton("/ui/rollouts/\(version)/pause", csrf: csrf, label: "Pause rollout", id: "pause")) }
        if view.state == .paused { actions.append(DashboardLayout.postButton("/ui/rollouts/\(version)/resume", csrf: csrf, label: "Resume rollout", id: "resume")) }
        if view.state == .running || view.state == .paused {
            actions.append("<a href=\"/ui/rollouts/\(version)/abort\" id=\"abort\">Abort rollout…</a>")
        }
        let counts = ["waiting", "pending", "downloading", "applied", "failed", "rolled_back"].map { status -> HTML in
            "<div class=\"card\"><div class=\"figure\" data-live=\"rollout-\(version)-\(status)\">\(view.counts[status] ?? 0)</div><div class=\"label\">\(status.replacingOccurrences(of: "_", with: " "))</div></div>"
        }
        let nodes = view.nodes ?? []
        let rows = nodes.prefix(Self.nodeRows).map { node -> HTML in
            """
            <tr><th scope="row"><a href="/ui/nodes/\(FormData.encode(node.name))">\(node.name)</a></th><td>\(node.group)</td><td class="num">\(node.wave)</td>\
            <td>\(DashboardFormat.state(node.status))</td><td>\(node.online ? "yes" : "no")</td><td>\(node.errorCode ?? "")\(node.message.map { " \($0)" } ?? "")</td></tr>
            """
        }
        let done = request.uri.queryParameters.get("done").flatMap { ["paused", "resumed", "aborted", "started"].contains($0) ? $0 : nil }
        let notice: HTML = done.map { "<p role=\"status\" id=\"notice\">Rollout \(version) \($0).</p>" } ?? .empty
        let content: HTML = """
            <div data-stream="/ui/stream"></div>
            \(notice)
            <dl class="facts"><dt>State</dt><dd><span data-live="rollout-\(version)-state" id="rollout-state">\(view.state.rawValue)</span>\(view.reason.map { " – \($0)" } ?? "")</dd>
            <dt>Groups</dt><dd>\(view.groups.joined(separator: ", "))</dd>
            <dt>Waves started</dt><dd data-live="rollout-\(version)-waves">\(view.wavesStarted) / \(view.waves)</dd>
            <dt>Offline in started waves</dt><dd>\(view.offline)</dd><dt>Created</dt><dd>\(view.createdAt)</dd></dl>
            <div class="cards">\(counts)</div>
            \(actions.isEmpty ? HTML.empty : "<h2>Actions</h2><div class=\"pager\">\(actions)</div>")
            <h2>Nodes</h2>
            <div class="table-wrap"><table id="rollout-nodes"><caption>\(nodes.count) node\(nodes.count == 1 ? "" : "s") by wave\(nodes.count > Self.nodeRows ? " (first \(Self.nodeRows) shown)" : "")</caption>
            <thead><tr><th scope="col">Node</th><th scope="col">Group</th><th scope="col" class="num">Wave</th><th scope="col">Status</th><th scope="col">Online</th><th scope="col">Error</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Rollout of release \(version)", active: "/ui/rollouts", csrf: csrf, content))
    }

    func act(_ context: CoordinatorRequestContext, _ state: RolloutState) async throws(CoordinatorError) -> Response {
        let version = try AdminReleaseAPI.version(context)
        _ = try await AdminReleaseAPI(services: services).transition(version: version, to: state, context)
        let done = state == .paused ? "paused" : state == .running ? "resumed" : "aborted"
        return DashboardResponse.redirect("/ui/rollouts/\(version)?done=\(done)")
    }

    func confirmAbort(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let version = try AdminReleaseAPI.version(context)
        guard try await services.store.rolloutState(version: version) != nil else { throw .notFound("no rollout \(version)") }
        let csrf = context.dashboardSession?.csrfToken ?? ""
        let content: HTML = """
            <p>Abort the rollout of release \(version)? Nodes that have not applied it yet will not get it; nodes that did keep it.</p>
            <div class="pager">\(DashboardLayout.postButton("/ui/rollouts/\(version)/abort", csrf: csrf, label: "Abort rollout \(version)", id: "confirm", danger: true))
            <a href="/ui/rollouts/\(version)">Cancel</a></div>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Abort rollout \(version)?", active: "/ui/rollouts", csrf: csrf, content))
    }

    func confirmRollback(_ request: Request, _ context: CoordinatorRequestContext) throws(CoordinatorError) -> Response {
        guard let group = request.uri.queryParameters.get("group"), NameRules.isValidGroupName(group) else {
            throw .invalidRequest("choose the group to roll back")
        }
        let csrf = context.dashboardSession?.csrfToken ?? ""
        let content: HTML = """
            <p>Roll group \(group) back to its previous release? This publishes that release again as a new version and rolls it out.</p>
            \(DashboardLayout.postButton("/ui/rollouts/rollback", csrf: csrf, label: "Roll back \(group)", id: "confirm", danger: true,
                                         fields: [("group", group)]))
            <a href="/ui/rollouts">Cancel</a>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Roll back \(group)?", active: "/ui/rollouts", csrf: csrf, content))
    }

    func rollback(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        var request = request
        let form = try await DashboardAuthMiddleware.form(&request)
        guard let group = form["group"], NameRules.isValidGroupName(group) else { throw .invalidRequest("choose the group to roll back") }
        let result = try await AdminReleaseAPI(services: services).rollback(group: group, context)
        guard let version = result.releaseVersion else { return DashboardResponse.redirect("/ui/rollouts") }
        return DashboardResponse.redirect("/ui/rollouts/\(version)?done=started")
    }
}
