import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/audit`: the newest admin actions and whether the log's hash chain is intact.
struct AuditPage {
    let services: CoordinatorServices

    func render(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let entries = try await services.auditLog.entries(since: nil, limit: 200)
        let verification = try await services.auditLog.verify()
        let rows = entries.reversed().map { entry -> HTML in
            let details = AdminAuditAPI.view(entry).details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return """
                <tr><td class="num">\(entry.sequence)</td><td>\(entry.at)</td><td>\(entry.actor)</td><td>\(entry.source)</td>\
                <td>\(entry.action)</td><td>\(entry.target)</td><td>\(details)</td><td><code>\(String(entry.hash.prefix(12)))</code></td></tr>
                """
        }
        let status: HTML = verification.problems.isEmpty
            ? "<p class=\"state-ok\" id=\"audit-status\">Hash chain intact: \(verification.entries) entries.</p>"
            : "<div class=\"error\" id=\"audit-status\" role=\"alert\"><p>The log was tampered with:</p><ul>\(verification.problems.map { "<li>\($0)</li>" as HTML })</ul></div>"
        let content: HTML = """
            \(status)
            <div class="table-wrap"><table id="audit-table"><caption>The 200 newest admin actions, newest first (flotilla audit lists them all)</caption>
            <thead><tr><th scope="col" class="num">#</th><th scope="col">At (UTC)</th><th scope="col">Actor</th><th scope="col">Source</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th><th scope="col">Hash</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Audit log", active: "/ui/audit", csrf: context.dashboardSession?.csrfToken, content))
    }
}
