import FlotillaProtocol
import Foundation
import Hummingbird

/// `/ui/nodes/NAME`: one node's latest state, its CPU, memory, disk and temperature over the
/// last hour, day or week (charts drawn from the heartbeat time series), its spend per day and
/// per model, its release history and its certificate's expiry.
struct NodePage {
    let services: CoordinatorServices

    enum Range: String, CaseIterable {
        case hour, day, week
        var seconds: TimeInterval { self == .hour ? 3600 : self == .day ? 86_400 : 7 * 86_400 }
    }

    func render(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        guard let name = context.parameters.get("name") else { throw .invalidRequest("missing node name") }
        guard let node = try await services.store.nodeViews(group: nil, name: name, now: Date(), interval: services.heartbeatInterval).first else {
            throw .notFound("no node named \(name)")
        }
        let rangeText = request.uri.queryParameters.get("range") ?? "hour"
        guard let range = Range(rawValue: rangeText) else { throw .invalidRequest("range must be hour, day or week") }
        let now = Date()
        let from = now.addingTimeInterval(-range.seconds)
        let points = try await services.store.readings(nodeID: node.id, from: from, to: now)
        let memTotal = node.memTotalBytes.map(Double.init)
        let diskTotal = node.diskTotalBytes.map(Double.init)
        func share(_ free: Int64?, of total: Double?) -> Double? {
            guard let free, let total, total > 0 else { return nil }
            return max(0, min(100, (1 - Double(free) / total) * 100))
        }
        // Buckets are at least a minute wide (about 240 per range); a gap of three is a silence.
        let gap = max(180, range.seconds / 240 * 3)
        let charts: [HTML] = [
            SVGChart.line(id: "chart-cpu", title: "CPU (%)", unit: "%", points: points.map { ($0.at, $0.cpuPercent) }, from: from, to: now, fixedMax: 100, gap: gap),
            SVGChart.line(id: "chart-memory", title: "Memory used (%)", unit: "%", points: points.map { ($0.at, share($0.memAvailableBytes, of: memTotal)) },
                          from: from, to: now, fixedMax: 100, gap: gap),
            SVGChart.line(id: "chart-disk", title: "Disk used (%)", unit: "%", points: points.map { ($0.at, share($0.diskFreeBytes, of: diskTotal)) },
                          from: from, to: now, fixedMax: 100, gap: gap),
            SVGChart.line(id: "chart-temperature", title: "Temperature (°C)", unit: "°C", points: points.map { ($0.at, $0.temperatureC) }, from: from, to: now, gap: gap),
        ]
        let ranges = Range.allCases.map { option -> HTML in
            option == range
                ? "<li><a href=\"?range=\(option.rawValue)\" aria-current=\"true\"><strong>last \(option.rawValue)</strong></a></li>"
                : "<li><a href=\"?range=\(option.rawValue)\">last \(option.rawValue)</a></li>"
        }
        let lastSeen = node.lastSeen.flatMap(Timestamps.parse)
        let certificateExpiry = node.certificateExpiresAt.flatMap(Timestamps.parse)
        let daysLeft = certificateExpiry.map { Int($0.timeIntervalSince(now) / 86_400) }
        let notice: HTML = request.uri.queryParameters.get("done").flatMap { NodeActions.notices[$0] }
            .map { "<p role=\"status\" id=\"notice\">Node \(node.name) \($0).</p>" } ?? .empty
        let content: HTML = """
            \(notice)
            <dl class="facts" id="node-facts">
            <dt>Status</dt><dd>\(DashboardFormat.status(node.status)) (last seen \(DashboardFormat.ago(lastSeen, now: now)))</dd>
            <dt>Group</dt><dd>\(node.group)</dd>
            <dt>Agent</dt><dd>\(node.agentVersion ?? "–") on \(node.arch ?? "–"), kernel \(node.kernel ?? "–")</dd>
            <dt>Release</dt><dd>\(node.releaseVersion.map { "v\($0) (\(node.releaseStatus ?? "unknown"))" } ?? "none yet")\(node.releaseError.map { " – \($0)" } ?? "")</dd>
            <dt>Local model</dt><dd id="local-model">\(DashboardFormat.localModel(node.localModel))</dd>
            <dt>Certificate expires</dt><dd id="certificate-expiry">\(node.certificateExpiresAt)\(daysLeft.map { " (in \($0) days)" } ?? "")</dd>
            <dt>Memory</dt><dd>\(DashboardFormat.bytes(node.memAvailableBytes)) free of \(DashboardFormat.bytes(node.memTotalBytes))</dd>
            <dt>Disk</dt><dd>\(DashboardFormat.bytes(node.diskFreeBytes)) free of \(DashboardFormat.bytes(node.diskTotalBytes))</dd>
            </dl>
            \(NodeActions.buttons(for: node, csrf: context.dashboardSession?.csrfToken ?? ""))
            <h2>Readings</h2>
            <nav aria-label="Time range"><ul class="pager">\(ranges)</ul></nav>
            <div class="charts">\(charts)</div>
            \(try await spend(node: node, now: now))
            \(try await history(node: node))
            """
        return DashboardResponse.html(DashboardLayout.page(title: "Node \(node.name)", active: "/ui/nodes", csrf: context.dashboardSession?.csrfToken, content))
    }

    /// Spend per day over the last 30 days (a bar chart) and per model this month (a table).
    private func spend(node: NodeView, now: Date) async throws(CoordinatorError) -> HTML {
        let first = now.addingTimeInterval(-29 * 86_400)
        let days = try await services.ledger.dailySpend(fromDay: UTCCalendar.day(first), toDay: UTCCalendar.day(now), nodeID: node.id)
        var perDay: [String: Int64] = [:]
        for row in days { perDay[row.day, default: 0] += row.costNanos }
        let bars = (0..<30).map { offset -> (label: String, value: Double) in
            let day = UTCCalendar.day(first.addingTimeInterval(Double(offset) * 86_400))
            return (day, Double(perDay[day] ?? 0) / 1e9)
        }
        let monthStart = UTCCalendar.day(UTCCalendar.startOfMonth(now))
        var perModel: [String: (calls: Int, input: Int64, output: Int64, cost: Int64)] = [:]
        for row in days where row.day >= monthStart {
            var entry = perModel[row.model] ?? (0, 0, 0, 0)
            entry.calls += row.calls
            entry.input += row.inputTokens
            entry.output += row.outputTokens
            entry.cost += row.costNanos
            perModel[row.model] = entry
        }
        let rows = perModel.sorted { $0.value.cost > $1.value.cost }.map { model, entry -> HTML in
            """
            <tr><th scope="row">\(model.isEmpty ? "(refused before a model)" : model)</th><td class="num">\(entry.calls)</td><td class="num">\(entry.input)</td>\
            <td class="num">\(entry.output)</td><td class="num">\(DashboardFormat.usd(nanos: entry.cost))</td></tr>
            """
        }
        let table: HTML = rows.isEmpty
            ? "<p class=\"muted\">No gateway calls this month.</p>"
            : """
              <div class="table-wrap"><table id="model-spend"><caption>Spend per model this month (UTC)</caption>
              <thead><tr><th scope="col">Model</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Input tokens</th><th scope="col" class="num">Output tokens</th><th scope="col" class="num">Cost</th></tr></thead>
              <tbody>\(rows)</tbody></table></div>
              """
        return """
            <h2>Gateway spend</h2>
            <div class="charts">\(SVGChart.bars(id: "chart-spend", title: "Spend per day, last 30 days (USD)", unit: "$", bars: bars, format: DashboardFormat.usd))</div>
            \(table)
            """
    }

    private func history(node: NodeView) async throws(CoordinatorError) -> HTML {
        let entries = try await services.store.releaseHistory(nodeID: node.id)
        guard !entries.isEmpty else { return "<h2>Release history</h2><p class=\"muted\">No release has been rolled out to this node.</p>" }
        let rows = entries.map { entry -> HTML in
            """
            <tr><th scope="row"><a href="/ui/rollouts/\(entry.version)">v\(entry.version)</a></th><td>\(entry.group)</td><td>\(DashboardFormat.state(entry.status))</td>\
            <td>\(entry.errorCode ?? "")\(entry.message.map { " \($0)" } ?? "")</td><td>\(AuditChain.timestamp(entry.updatedAt))</td></tr>
            """
        }
        return """
            <h2>Release history</h2>
            <div class="table-wrap"><table id="release-history"><caption>Releases rolled out to this node, newest first</caption>
            <thead><tr><th scope="col">Release</th><th scope="col">Group</th><th scope="col">Status</th><th scope="col">Error</th><th scope="col">Updated</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """
    }
}
