import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/usage`: gateway calls, tokens and cost by node, group, model or provider over a chosen
/// range (the admin API's usage report, as a page).
struct UsagePage {
    let services: CoordinatorServices

    func render(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let parameters = request.uri.queryParameters
        guard let by = UsageGrouping(rawValue: parameters.get("by") ?? "node") else { throw .invalidRequest("by must be node, group, model or provider") }
        let now = Date()
        let to = try parameters.get("to").flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(CoordinatorError) -> Date in
            guard let date = Self.parseDay(text, endOfDay: true) else { throw .invalidRequest("to must be a date (YYYY-MM-DD) or an RFC 3339 time") }
            return date
        } ?? now
        let from = try parameters.get("from").flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(CoordinatorError) -> Date in
            guard let date = Self.parseDay(text, endOfDay: false) else { throw .invalidRequest("from must be a date (YYYY-MM-DD) or an RFC 3339 time") }
            return date
        } ?? to.addingTimeInterval(-7 * 86_400)
        guard from < to else { throw .invalidRequest("from must be before to") }
        let (range, aggregates) = try await services.ledger.report(UsageQuery(by: by, from: from, to: to, nodeID: nil, group: nil))
        let rows = aggregates.map { aggregate -> HTML in
            let key = by == .node ? services.directory.node(id: aggregate.key)?.name ?? aggregate.key : aggregate.key
            let name: HTML = by == .node ? "<a href=\"/ui/nodes/\(FormData.encode(key))\">\(key)</a>" : "\(key.isEmpty ? "(none)" : key)"
            return """
                <tr><th scope="row">\(name)</th><td class="num">\(aggregate.calls)</td><td class="num">\(aggregate.refused)</td><td class="num">\(aggregate.failed)</td>\
                <td class="num">\(aggregate.inputTokens)</td><td class="num">\(aggregate.outputTokens)</td><td class="num">\(DashboardFormat.usd(nanos: aggregate.costNanos))</td></tr>
                """
        }
        let total = UsageAggregate.total(of: aggregates)
        let options = UsageGrouping.allCases.map { option -> HTML in
            "<option value=\"\(option.rawValue)\"\(option == by ? HTML(" selected") : HTML.empty)>\(option.rawValue)</option>"
        }
        let content: HTML = """
            <form class="filters" method="get" action="/ui/usage">
            <label for="usage-by">By<select id="usage-by" name="by">\(options)</select></label>
            <label for="usage-from">From (UTC)<input id="usage-from" name="from" type="date" value="\(UTCCalendar.day(from))"></label>
            <label for="usage-to">To (UTC, included)<input id="usage-to" name="to" type="date" value="\(UTCCalendar.day(to))"></label>
            <button type="submit">Show</button>
            </form>
            <p>\(total.calls) calls, \(total.inputTokens) input and \(total.outputTokens) output tokens, \(DashboardFormat.usd(nanos: total.costNanos)) from \(Timestamps.rfc3339(range.from)) to \(Timestamps.rfc3339(range.to)).</p>
            \(rows.isEmpty ? "<p class=\"muted\">No gateway calls in this range.</p>" : """
            <div class="table-wrap"><table id="usage-table"><caption>Usage by \(by.rawValue)</caption>
            <thead><tr><th scope="col">\(by.rawValue.capitalized)</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Refused</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Input tokens</th><th scope="col" class="num">Output tokens</th><th scope="col" class="num">Cost</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """ as HTML)
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Usage", active: "/ui/usage", csrf: context.dashboardSession?.csrfToken, content))
    }

    /// `YYYY-MM-DD` (the day's start, or the next day's start for an inclusive end) or RFC 3339.
    static func parseDay(_ text: String, endOfDay: Bool) -> Date? {
        if let date = Timestamps.parse(text) { return date }
        guard let day = Timestamps.parse(text + "T00:00:00Z") else { return nil }
        return endOfDay ? day.addingTimeInterval(86_400) : day
    }
}
