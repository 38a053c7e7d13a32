import FlotillaProtocol
import Foundation
import Yams

extension SpecReader {
    static let budgetKeys = ["fleet", "groups", "nodes", "soft_threshold", "time_zone"]
    static let budgetLimitKeys = ["daily", "monthly", "downgrade"]
    static let limitKeys = ["fleet", "groups", "nodes"]
    static let rateLimitKeys = ["requests_per_minute", "tokens_per_minute", "max_in_flight"]

    /// `budgets:`: USD per day and month for the fleet, groups and nodes.
    mutating func readBudgets(_ node: Node) -> BudgetSpec? {
        guard let entries = mapping(node, "budgets", what: "a mapping with fleet, groups, nodes, soft_threshold and time_zone") else { return nil }
        rejectUnknownKeys(entries, "budgets", allowed: Self.budgetKeys)
        var spec = BudgetSpec()
        for entry in entries {
            let path = Self.join("budgets", entry.key)
            switch entry.key {
            case "fleet": spec.fleet = budgetLimit(entry.value, path)
            case "groups": spec.groups = scoped(entry.value, path, names: .groups) { reader, node, path in reader.budgetLimit(node, path) }
            case "nodes": spec.nodes = scoped(entry.value, path, names: .nodes) { reader, node, path in reader.budgetLimit(node, path) }
            case "soft_threshold":
                guard let value = scalar(entry.value, path) else { continue }
                switch value {
                case .string(let text) where DurationText.percent(text) != nil: spec.softThresholdPercent = DurationText.percent(text)!
                case .int(let number) where (1...100).contains(number): spec.softThresholdPercent = Double(number)
                default: problem(entry.value, path, "expected a percentage like 80% (more than 0, at most 100), found \(describe(value))")
                }
            case "time_zone":
                guard let zone = string(entry.value, path) else { continue }
                if TimeZone(identifier: zone) == nil {
                    problem(entry.value, path, "unknown time zone '\(zone)' (an IANA name such as UTC or Europe/Berlin)")
                } else {
                    spec.timeZone = zone
                }
            default: break
            }
        }
        return spec
    }

    /// `limits:`: requests and tokens per minute for the fleet, groups and nodes.
    mutating func readLimits(_ node: Node) -> LimitSpec? {
        guard let entries = mapping(node, "limits", what: "a mapping with fleet, groups and nodes") else { return nil }
        rejectUnknownKeys(entries, "limits", allowed: Self.limitKeys)
        var spec = LimitSpec()
        for entry in entries {
            let path = Self.join("limits", entry.key)
            switch entry.key {
            case "fleet": spec.fleet = rateLimit(entry.value, path, inFlightAllowed: false)
            case "groups": spec.groups = scoped(entry.value, path, names: .groups) { reader, node, path in reader.rateLimit(node, path, inFlightAllowed: false) }
            case "nodes": spec.nodes = scoped(entry.value, path, names: .nodes) { reader, node, path in reader.rateLimit(node, path, inFlightAllowed: true) }
            default: break
            }
        }
        return spec
    }

    enum ScopeNames { case groups, nodes }

    /// A mapping of group (or node, or `default`) names to what `read` makes of each value.
    private mutating func scoped<T>(_ node: Node, _ path: String, names: ScopeNames,
                                    _ read: (inout SpecReader, Node, String) -> T?) -> [String: T] {
        guard let entries = mapping(node, path, what: names == .groups ? "a mapping of group names" : "a mapping of node names (or default)") else {
            return [:]
        }
        var result: [String: T] = [:]
        for entry in entries {
            let entryPath = Self.join(path, entry.key)
            let valid = names == .groups ? FleetSpec.isValidGroupName(entry.key) : NameRules.isValidNodeName(entry.key)
            guard valid else {
                problem(entry.keyNode, entryPath, names == .groups ? "invalid group name '\(entry.key)'" : "invalid node name '\(entry.key)'")
                continue
            }
            if let value = read(&self, entry.value, entryPath) { result[entry.key] = value }
        }
        return result
    }

    private mutating func budgetLimit(_ node: Node, _ path: String) -> BudgetLimit? {
        guard let entries = mapping(node, path, what: "a mapping with daily and/or monthly (USD)") else { return nil }
        rejectUnknownKeys(entries, path, allowed: Self.budgetLimitKeys)
        var limit = BudgetLimit()
        for entry in entries where Self.budgetLimitKeys.contains(entry.key) {
            let entryPath = Self.join(path, entry.key)
            if entry.key == "downgrade" {
                limit.downgrade = downgrade(entry.value, entryPath)
                downgradeLines[path] = line(of: entry.keyNode)
                continue
            }
            guard case .scalar(let scalar) = entry.value, scalar.style == .plain,
                  let nanos = DecimalAmount.parse(scalar.string, decimals: 9), GatewayRules.budgetNanos.contains(nanos) else {
                problem(entry.value, entryPath, "expected an amount of USD more than 0, like 10 or 2.50")
                continue
            }
            if entry.key == "daily" { limit.dailyNanos = nanos } else { limit.monthlyNanos = nanos }
        }
        if limit.downgrade != nil, limit.dailyNanos == nil, limit.monthlyNanos == nil {
            problem(node, Self.join(path, "downgrade"), "needs a daily or monthly limit in the same scope to be a share of")
        }
        return limit
    }

    /// `downgrade: {at: 80%, to: MODEL, models: [...]}`; the model names are checked against the
    /// declared models once those are known (`checkDowngrades`).
    private mutating func downgrade(_ node: Node, _ path: String) -> BudgetDowngrade? {
        guard let entries = mapping(node, path, what: "a mapping with at (a percentage), to (a model) and optionally models") else { return nil }
        rejectUnknownKeys(entries, path, allowed: ["at", "to", "models"])
        var at: Double?
        var to: String?
        var models: [String]?
        for entry in entries {
            let entryPath = Self.join(path, entry.key)
            switch entry.key {
            case "at":
                guard let value = scalar(entry.value, entryPath) else { continue }
                if case .string(let text) = value, let percent = DurationText.percent(text), percent < 100 {
                    at = percent
                } else {
                    problem(entry.value, entryPath, "expected a percentage below 100% like 80% (at 100% the budget refuses calls), found \(describe(value))")
                }
            case "to": to = string(entry.value, entryPath)
            case "models": models = readGroupModels(entry.value, entryPath).map(\.value)
            default: break
            }
        }
        guard let at, let to else {
            problem(node, path, "needs 'at' (a share of the budget, e.g. 80%) and 'to' (the cheaper model)")
            return nil
        }
        return BudgetDowngrade(atPercent: at, to: to, models: models)
    }

    private mutating func rateLimit(_ node: Node, _ path: String, inFlightAllowed: Bool) -> RateLimit? {
        guard let entries = mapping(node, path, what: "a mapping with requests_per_minute, tokens_per_minute or max_in_flight") else { return nil }
        rejectUnknownKeys(entries, path, allowed: inFlightAllowed ? Self.rateLimitKeys : Array(Self.rateLimitKeys.prefix(2)))
        var limit = RateLimit()
        for entry in entries where Self.rateLimitKeys.contains(entry.key) {
            let entryPath = Self.join(path, entry.key)
            guard let number = integer(entry.value, entryPath) else { continue }
            guard GatewayRules.rateLimit.contains(number) else {
                problem(entry.value, entryPath, "must be at least 1")
                continue
            }
            switch entry.key {
            case "requests_per_minute": limit.requestsPerMinute = Int(number)
            case "tokens_per_minute": limit.tokensPerMinute = Int(number)
            default: if inFlightAllowed { limit.maxInFlight = Int(number) }
            }
        }
        return limit
    }
}

/// Exact decimal amounts: `2.50` with 9 decimals is 2_500_000_000.
public enum DecimalAmount {
    /// `text` (digits, optionally a point and at most `decimals` more digits) times 10^decimals;
    /// nil for anything else (signs, exponents, too many decimals).
    public static func parse(_ text: String, decimals: Int) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 10, whole.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= decimals, fraction.allSatisfy({ $0 >= "0" && $0 <= "9" }), parts.count == 1 || !fraction.isEmpty else { return nil }
        fraction += String(repeating: "0", count: decimals - fraction.count)
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        guard let w = Int64(whole), let f = Int64(fraction.isEmpty ? "0" : fraction) else { return nil }
        let (product, overflow) = w.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product + f
    }
}
