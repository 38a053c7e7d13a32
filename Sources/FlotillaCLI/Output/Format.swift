import Foundation

/// Human formatting for the fleet view.
public enum Format {
    /// `512B`, `3.2K`, `7.6G` — binary units.
    public static func bytes(_ value: Int64?) -> String {
        guard let value else { return "-" }
        let units = ["B", "K", "M", "G", "T", "P"]
        var v = Double(value)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(value)B" : (v >= 10 ? String(format: "%.0f%@", v, units[i]) : String(format: "%.1f%@", v, units[i]))
    }

    /// `4s ago`, `12m ago`, `3h ago`, `2d ago`, or `never`.
    public static func relative(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "never" }
        let s = max(0, Int(now.timeIntervalSince(date)))
        switch s {
        case ..<60: return "\(s)s ago"
        case ..<3600: return "\(s / 60)m ago"
        case ..<86_400: return "\(s / 3600)h ago"
        default: return "\(s / 86_400)d ago"
        }
    }

    /// `12.5` or `-`.
    public static func number(_ value: Double?, decimals: Int = 1) -> String {
        guard let value else { return "-" }
        return String(format: "%.\(decimals)f", value)
    }

    /// `$12.34`, `$0.0421`, `$0.000015`, `$0`: enough digits that small spend is not shown as 0.
    public static func usd(_ value: Double) -> String {
        if value == 0 { return "$0" }
        if value >= 1 { return String(format: "$%.2f", value) }
        if value >= 0.01 { return String(format: "$%.4f", value) }
        return String(format: "$%.6f", value)
    }

    /// Memory as used share of total: `52% of 7.6G`.
    public static func memory(total: Int64?, available: Int64?) -> String {
        guard let total, total > 0 else { return "-" }
        guard let available else { return bytes(total) }
        let used = Double(total - available) / Double(total) * 100
        return String(format: "%.0f%% of %@", used, bytes(total))
    }
}

/// A plain-text table with left-aligned columns separated by two spaces.
public struct TextTable {
    public var headers: [String]
    public var rows: [[String]] = []

    public init(headers: [String]) {
        self.headers = headers
    }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}
