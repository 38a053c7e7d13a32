import FlotillaProtocol
import Foundation

/// How the dashboard writes figures: money, shares, sizes, ages and states.
enum DashboardFormat {
    /// `$1.25`, `$0.0421`, `$0.000018`: small amounts keep their digits (as the CLI writes them).
    static func usd(_ value: Double) -> String { BudgetPolicy.dollars(Int64((value * 1e9).rounded())) }

    static func usd(nanos: Int64) -> String { BudgetPolicy.dollars(nanos) }

    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f%%", value)
    }

    static func number(_ value: Double?, decimals: Int = 1) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.\(decimals)f", value)
    }

    static func bytes(_ value: Int64?) -> String {
        guard let value else { return "–" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
    }

    /// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `never`.
    static func ago(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "never" }
        let seconds = max(0, now.timeIntervalSince(date))
        if seconds < 90 { return "\(Int(seconds)) s ago" }
        if seconds < 5400 { return "\(Int(seconds / 60)) min ago" }
        if seconds < 172_800 { return "\(Int(seconds / 3600)) h ago" }
        return "\(Int(seconds / 86_400)) d ago"
    }

    static func status(_ status: NodeStatus) -> HTML {
        "<span class=\"status-\(status.rawValue)\">\(status.rawValue)</span>"
    }

    static func state(_ state: String) -> HTML {
        "<span class=\"state-\(state)\">\(state)</span>"
    }

    /// Whether a node's local model answers, as its latest heartbeat said: `answers` or `not
    /// answering`, coloured like a status; `none` when the node reported no local model.
    static func localModel(_ health: String?, none: String = "none") -> HTML {
        switch health.flatMap(LocalModelHealth.init(rawValue:)) {
        case .up: "<span class=\"local-up\">answers</span>"
        case .down: "<span class=\"local-down\">not answering</span>"
        case nil: "\(none)"
        }
    }

    /// A `<meter>` for a share of a budget, with the figure beside it for screen readers and
    /// browsers without meters.
    static func meter(percent: Double?) -> HTML {
        guard let percent, percent.isFinite else { return "–" }
        let shown = min(max(percent, 0), 100)
        return "<meter min=\"0\" max=\"100\" low=\"80\" high=\"99\" optimum=\"0\" value=\"\(String(format: "%.1f", shown))\">\(Self.percent(percent))</meter> \(Self.percent(percent))"
    }
}
