import FlotillaProtocol
import Foundation
import Hummingbird

/// A node's actions on its dashboard page: approve a pending node, rotate its gateway key, and
/// revoke it after a confirmation page. They run the admin API's own (audited) code.
struct NodeActions {
    let services: CoordinatorServices
    /// The notices a node page may show after an action (nothing else from the query string).
    static let notices = ["approved": "approved", "revoked": "revoked", "key-rotated": "given a new gateway key (it fetches it with its next heartbeat)"]

    func addRoutes(to ui: RouterGroup<CoordinatorRequestContext>) {
        ui.post("nodes/:name/approve") { _, context in try await approve(context) }
        ui.post("nodes/:name/rotate-key") { _, context in try await rotateKey(context) }
        ui.get("nodes/:name/revoke") { _, context in try await confirmRevoke(context) }
        ui.post("nodes/:name/revoke") { _, context in try await revoke(context) }
    }

    /// The buttons for `node` on its page.
    static func buttons(for node: NodeView, csrf: String) -> HTML {
        let path = "/ui/nodes/" + FormData.encode(node.name)
        var buttons: [HTML] = []
        if node.status == .pending { buttons.append(DashboardLayout.postButton(path + "/approve", csrf: csrf, label: "Approve node", id: "approve")) }
        if node.status != .revoked {
            buttons.append(DashboardLayout.postButton(path + "/rotate-key", csrf: csrf, label: "Rotate gateway key", id: "rotate-key"))
            buttons.append("<a href=\"\(path)/revoke\" id=\"revoke\">Revoke node…</a>")
        }
        return buttons.isEmpty ? .empty : "<div class=\"pager\">\(buttons)</div>"
    }

    func approve(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let name = try Self.name(context)
        try await AdminAPI(services: services).setState(name: name, .active, context)
        return DashboardResponse.redirect(Self.page(name, done: "approved"))
    }

    func rotateKey(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let name = try Self.name(context)
        try await AdminGatewayAPI(services: services).rotateKey(name: name, context)
        return DashboardResponse.redirect(Self.page(name, done: "key-rotated"))
    }

    func confirmRevoke(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let name = try Self.name(context)
        guard try await services.store.node(named: name) != nil else { throw .notFound("no node named \(name)") }
        let csrf = context.dashboardSession?.csrfToken ?? ""
        let content: HTML = """
            <p>Revoke node \(name)? Its certificate and gateway key are refused from its next request on; to bring the board back it must be provisioned again.</p>
            <div class="pager">\(DashboardLayout.postButton("/ui/nodes/\(FormData.encode(name))/revoke", csrf: csrf, label: "Revoke \(name)", id: "confirm", danger: true))
            <a href="\(Self.page(name, done: nil))">Cancel</a></div>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Revoke \(name)?", active: "/ui/nodes", csrf: csrf, content))
    }

    func revoke(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let name = try Self.name(context)
        try await AdminAPI(services: services).setState(name: name, .revoked, context)
        return DashboardResponse.redirect(Self.page(name, done: "revoked"))
    }

    private static func page(_ name: String, done: String?) -> String {
        "/ui/nodes/" + FormData.encode(name) + (done.map { "?done=" + $0 } ?? "")
    }

    private static func name(_ context: CoordinatorRequestContext) throws(CoordinatorError) -> String {
        guard let name = context.parameters.get("name"), NameRules.isValidNodeName(name) else { throw .invalidRequest("missing node name") }
        return name
    }
}
