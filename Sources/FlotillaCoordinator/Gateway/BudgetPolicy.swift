import FlotillaProtocol
import Foundation
import Synchronization

/// A budget period.
enum BudgetPeriod: String, Sendable, CaseIterable {
    case daily
    case monthly
}

/// One budget counter: a scope's spend in one calendar period (`2026-11-30`, `2026-11`).
struct BudgetCounterKey: Hashable, Sendable, Codable {
    /// `fleet`, `group:NAME` or `node:ID`.
    var scope: String
    var period: String
    var periodKey: String
}

/// A counter a call must fit under, with the limit in force and when its period resets.
struct BudgetCheck: Sendable, Equatable {
    var key: BudgetCounterKey
    var limitNanos: Int64
    var resetsAt: Date
    /// For people: `node demo-1`, `group demo`, `fleet`.
    var label: String
    /// Share of the limit at which the soft-threshold event is raised.
    var softPercent: Double = 80
}

/// The counters one call is checked against, taken once when it starts, so that its downgrade
/// and its admission read the same scopes and periods.
struct BudgetChecks: Sendable {
    var at: Date
    var checks: [BudgetCheck]
}

/// The calendar periods of budgets in one time zone.
struct BudgetCalendar: Sendable {
    let calendar: Calendar

    init(timeZone identifier: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: identifier) ?? TimeZone(identifier: "UTC")!
        self.calendar = calendar
    }

    /// The periods of the current day, reused until the day ends (every call asks; the calendar
    /// arithmetic is done once a day).
    private static let current = Mutex<(zone: String, validFrom: Date, until: Date, day: (String, Date), month: (String, Date))?>(nil)

    /// `period(.daily/.monthly, at: now)` from the cache when `now` is in the cached day.
    static func periods(timeZone: String, at now: Date) -> (day: (key: String, resetsAt: Date), month: (key: String, resetsAt: Date)) {
        if let cached = current.withLock({ $0 }), cached.zone == timeZone, now >= cached.validFrom, now < cached.until {
            return (cached.day, cached.month)
        }
        let calendar = BudgetCalendar(timeZone: timeZone)
        let day = calendar.period(.daily, at: now)
        let month = calendar.period(.monthly, at: now)
        let start = calendar.calendar.startOfDay(for: now)
        current.withLock { $0 = (timeZone, start, day.resetsAt, day, month) }
        return (day, month)
    }

    /// The key of `now`'s day or month, and when that period ends.
    func period(_ period: BudgetPeriod, at now: Date) -> (key: String, resetsAt: Date) {
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        let (year, month, day) = (parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
        switch period {
        case .daily:
            let start = calendar.startOfDay(for: now)
            let end = calendar.date(byAdding: .day, value: 1, to: start) ?? now.addingTimeInterval(86_400)
            return (String(format: "%04d-%02d-%02d", year, month, day), end)
        case .monthly:
            let start = calendar.date(from: DateComponents(year: year, month: month, day: 1)) ?? now
            let end = calendar.date(byAdding: .month, value: 1, to: start) ?? now.addingTimeInterval(31 * 86_400)
            return (String(format: "%04d-%02d", year, month), end)
        }
    }
}

/// Which budgets a call must fit under, and what it may cost at most.
enum BudgetPolicy {
    /// The counters of `node` (its own entry or `nodes.default`), its group and the fleet, for
    /// each period that has a limit.
    static func checks(_ budgets: BudgetSpec?, node: NodeRecord, group: String, at now: Date) -> [BudgetCheck] {
        guard let budgets else { return [] }
        var scopes: [(scope: String, label: String, limit: BudgetLimit)] = []
        if let limit = budgets.nodes[node.name] ?? budgets.nodes["default"] { scopes.append(("node:\(node.id)", "node \(node.name)", limit)) }
        if let limit = budgets.groups[group] { scopes.append(("group:\(group)", "group \(group)", limit)) }
        if let limit = budgets.fleet { scopes.append(("fleet", "fleet", limit)) }
        return checks(scopes, budgets, at: now)
    }

    /// Every budget scope in force: the fleet, each group with a budget, and each of `nodes` with
    /// its own or the default budget.
    static func allChecks(_ budgets: BudgetSpec?, nodes: [NodeRecord], at now: Date) -> [BudgetCheck] {
        guard let budgets else { return [] }
        var scopes: [(scope: String, label: String, limit: BudgetLimit)] = []
        if let limit = budgets.fleet { scopes.append(("fleet", "fleet", limit)) }
        for (group, limit) in budgets.groups.sorted(by: { $0.key < $1.key }) { scopes.append(("group:\(group)", "group \(group)", limit)) }
        for node in nodes.sorted(by: { $0.name < $1.name }) {
            if let limit = budgets.nodes[node.name] ?? budgets.nodes["default"] { scopes.append(("node:\(node.id)", "node \(node.name)", limit)) }
        }
        return checks(scopes, budgets, at: now)
    }

    private static func checks(_ scopes: [(scope: String, label: String, limit: BudgetLimit)], _ budgets: BudgetSpec, at now: Date) -> [BudgetCheck] {
        let periods = BudgetCalendar.periods(timeZone: budgets.timeZone, at: now)
        var checks: [BudgetCheck] = []
        for (scope, label, limit) in scopes {
            for (period, nanos) in [(BudgetPeriod.daily, limit.dailyNanos), (.monthly, limit.monthlyNanos)] {
                guard let nanos else { continue }
                let (key, resetsAt) = period == .daily ? periods.day : periods.month
                checks.append(BudgetCheck(key: BudgetCounterKey(scope: scope, period: period.rawValue, periodKey: key),
                                          limitNanos: nanos, resetsAt: resetsAt, label: label, softPercent: budgets.softThresholdPercent))
            }
        }
        return checks
    }

    /// The output tokens a call may produce per completion: its `max_tokens`, clamped to the
    /// model's maximum (the maximum when it gives none); 0 for embeddings.
    static func outputCap(_ request: RequestSummary, price: ModelPrice) -> Int64 {
        guard request.producesOutput else { return 0 }
        let maximum = price.maxOutputTokens ?? ModelPrice.defaultMaxOutputTokens
        return min(max(1, request.maxOutputTokens ?? maximum), maximum)
    }

    /// The most a call can cost: every input token at the dearest input rate (plain, cached or
    /// cache write) plus its output cap for each completion at the output price.
    static func worstCaseNanos(_ request: RequestSummary, price: ModelPrice) -> Int64 {
        let usage = TokenUsage(input: request.inputUpperBoundTokens, output: outputCap(request, price: price) * request.choices)
        let dearest = max(price.inputMicros, price.cachedInputMicros, price.cacheWriteMicros)
        return usage.costNanos(at: ModelPrice(inputMicros: dearest, outputMicros: price.outputMicros))
    }

    /// Where a counter stands against its limit: exhausted once spent or once it refused a call.
    static func state(_ figures: CounterState, _ check: BudgetCheck) -> BudgetState {
        let spent = Double(figures.spentNanos)
        if spent >= Double(check.limitNanos) || figures.refusedCalls { return .exhausted }
        return spent >= Double(check.limitNanos) * check.softPercent / 100 ? .softExceeded : .ok
    }

    /// `$1.25`, `$0.0421`, `$0.000018` for people: small amounts keep their digits.
    static func dollars(_ nanos: Int64) -> String {
        let value = Double(nanos) / 1e9
        if value == 0 { return "$0" }
        if value >= 1 { return String(format: "$%.2f", value) }
        return String(format: value >= 0.01 ? "$%.4f" : "$%.9f", value).replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
    }
}
