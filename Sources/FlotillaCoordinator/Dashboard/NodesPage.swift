import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/nodes`: the fleet table, filtered by group, status and name, sorted by any column and
/// paged, all in SQL; with each node's spend today and this month and its budget use.
struct NodesPage {
    let services: CoordinatorServices
    static let pageSize = 50

    func render(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let parameters = request.uri.queryParameters
        var query = NodePageQuery()
        query.group = parameters.get("group").flatMap { $0.isEmpty ? nil : $0 }
        if let text = parameters.get("status"), !text.isEmpty {
            guard let status = NodeStatus(rawValue: text) else { throw .invalidRequest("status must be one of \(NodeStatus.allCases.map(\.rawValue).joined(separator: ", "))") }
            query.status = status
        }
        query.search = parameters.get("q").map { String($0.prefix(63)) }
        if let text = parameters.get("sort") {
            guard let sort = NodePageQuery.Sort(rawValue: text) else { throw .invalidRequest("sort must be one of \(NodePageQuery.Sort.allCases.map(\.rawValue).joined(separator: ", "))") }
            query.sort = sort
        }
        query.descending = parameters.get("dir") == "desc"
        let page = max(1, min(100_000, Int(parameters.get("page") ?? "1") ?? 1))
        query.limit = Self.pageSize
        query.offset = (page - 1) * Self.pageSize
        let now = Date()
        let (total, nodes) = try await services.store.nodePage(query, now: now, interval: services.heartbeatInterval)
        let spend = try await services.ledger.nodeSpend(today: now, nodeIDs: nodes.map(\.id))
        let budgetUse = await AdminBudgetAPI.budgetUse(services, nodeIDs: nodes.map(\.id))
        let groups = try await services.store.groupNames()

        let rows = nodes.map { node -> HTML in
            let cost = spend[node.id] ?? NodeSpend()
            let lastSeen = node.lastSeen.flatMap(Timestamps.parse)
            return """
                <tr><th scope="row"><a href="/ui/nodes/\(FormData.encode(node.name))">\(node.name)</a></th><td>\(node.group)</td>\
                <td>\(DashboardFormat.status(node.status))</td><td>\(DashboardFormat.ago(lastSeen, now: now))</td>\
                <td class="num">\(DashboardFormat.number(node.cpuPercent))</td><td class="num">\(Self.memory(node))</td>\
                <td class="num">\(DashboardFormat.number(node.temperatureC))</td>\
                <td>\(node.releaseVersion.map { "v\($0) \(node.releaseStatus ?? "")" } ?? "–")</td><td>\(DashboardFormat.localModel(node.localModel, none: "–"))</td>\
                <td class="num">\(DashboardFormat.usd(nanos: cost.todayNanos))</td><td class="num">\(DashboardFormat.usd(nanos: cost.monthNanos))</td>\
                <td>\(DashboardFormat.meter(percent: budgetUse[node.id]))</td></tr>
                """
        }
        let pages = max(1, (total + Self.pageSize - 1) / Self.pageSize)
        let content: HTML = """
            \(filters(query, groups: groups))
            <div class="table-wrap"><table id="nodes-table" data-total="\(total)">
            <caption>\(total) node\(total == 1 ? "" : "s")\(query.group.map { " in group \($0)" } ?? "")\(query.status.map { ", \($0.rawValue)" } ?? ""); page \(page) of \(pages)</caption>
            <thead><tr>\(header("Name", .name, query))\(header("Group", .group, query))\(header("Status", .status, query))\(header("Last seen", .lastSeen, query))\
            \(header("CPU %", .cpu, query, numeric: true))<th scope="col" class="num">Memory used</th>\(header("Temp °C", .temperature, query, numeric: true))\
            \(header("Release", .release, query))<th scope="col">Local model</th><th scope="col" class="num">Cost today</th><th scope="col" class="num">Cost month</th><th scope="col">Budget used</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            \(pager(query, page: page, pages: pages))
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Nodes", active: "/ui/nodes", csrf: context.dashboardSession?.csrfToken, content))
    }

    private static func memory(_ node: NodeView) -> String {
        guard let total = node.memTotalBytes, let available = node.memAvailableBytes, total > 0 else { return "–" }
        return DashboardFormat.percent(Double(total - available) / Double(total) * 100)
    }

    private func filters(_ query: NodePageQuery, groups: [String]) -> HTML {
        let groupOptions = ([""] + groups).map { group -> HTML in
            "<option value=\"\(group)\"\(group == (query.group ?? "") ? HTML(" selected") : HTML.empty)>\(group.isEmpty ? "all groups" : group)</option>"
        }
        let statusOptions = ([""] + NodeStatus.allCases.map(\.rawValue)).map { status -> HTML in
            "<option value=\"\(status)\"\(status == (query.status?.rawValue ?? "") ? HTML(" selected") : HTML.empty)>\(status.isEmpty ? "any status" : status)</option>"
        }
        return """
            <form class="filters" method="get" action="/ui/nodes" role="search">
            <label for="filter-group">Group<select id="filter-group" name="group">\(groupOptions)</select></label>
            <label for="filter-status">Status<select id="filter-status" name="status">\(statusOptions)</select></label>
            <label for="filter-q">Name contains<input id="filter-q" name="q" value="\(query.search)" maxlength="63"></label>
            <input type="hidden" name="sort" value="\(query.sort.rawValue)"><input type="hidden" name="dir" value="\(query.descending ? "desc" : "asc")">
            <button type="submit">Filter</button>
            </form>
            """
    }

    /// A column header that sorts by its column (again: the other way).
    private func header(_ title: String, _ sort: NodePageQuery.Sort, _ query: NodePageQuery, numeric: Bool = false) -> HTML {
        var target = query
        target.sort = sort
        target.descending = query.sort == sort ? !query.descending : false
        let ariaSort: HTML = query.sort == sort ? (query.descending ? " aria-sort=\"descending\"" : " aria-sort=\"ascending\"") : .empty
        let arrow = query.sort == sort ? (query.descending ? " ▼" : " ▲") : ""
        return "<th scope=\"col\"\(numeric ? HTML(" class=\"num\"") : HTML.empty)\(ariaSort)><a href=\"\(link(target, page: 1))\">\(title)\(arrow)</a></th>"
    }

    private func pager(_ query: NodePageQuery, page: Int, pages: Int) -> HTML {
        let previous: HTML = page > 1 ? "<a href=\"\(link(query, page: page - 1))\" rel=\"prev\">← Previous</a>" : "<span class=\"muted\">← Previous</span>"
        let next: HTML = page < pages ? "<a href=\"\(link(query, page: page + 1))\" rel=\"next\">Next →</a>" : "<span class=\"muted\">Next →</span>"
        return "<nav class=\"pager\" aria-label=\"Pages\">\(previous)<span>Page \(page) of \(pages)</span>\(next)</nav>"
    }

    private func link(_ query: NodePageQuery, page: Int) -> String {
        var parts = ["sort=" + query.sort.rawValue, "dir=" + (query.descending ? "desc" : "asc"), "page=\(page)"]
        if let group = query.group { parts.append("group=" + FormData.encode(group)) }
        if let status = query.status { parts.append("status=" + status.rawValue) }
        if let search = query.search, !search.isEmpty { parts.append("q=" + FormData.encode(search)) }
        return "/ui/nodes?" + parts.joined(separator: "&")
    }
}
