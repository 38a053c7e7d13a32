/// Where a budget scope stands in its period.
public enum BudgetState: String, Codable, Sendable, CaseIterable {
    case ok
    /// Spend reached the soft threshold (default 80%).
    case softExceeded = "soft_exceeded"
    /// Spend reached the limit: calls are refused until the period resets.
    case exhausted
}

/// One budget scope in one period (`flotilla budgets`).
public struct BudgetScopeView: Codable, Sendable, Equatable {
    /// `fleet`, `group demo` or `node demo-1`.
    public var scope: String
    /// `daily` or `monthly`.
    public var period: String
    /// `2026-11-30` or `2026-11`, in the budgets' time zone.
    public var periodKey: String
    public var spentUSD: Double
    /// Held by calls in flight.
    public var reservedUSD: Double
    public var limitUSD: Double
    /// Spend as a share of the limit.
    public var percent: Double
    public var state: BudgetState
    public var resetsAt: String

    public init(scope: String, period: String, periodKey: String, spentUSD: Double, reservedUSD: Double, limitUSD: Double,
                percent: Double, state: BudgetState, resetsAt: String) {
        self.scope = scope
        self.period = period
        self.periodKey = periodKey
        self.spentUSD = spentUSD
        self.reservedUSD = reservedUSD
        self.limitUSD = limitUSD
        self.percent = percent
        self.state = state
        self.resetsAt = resetsAt
    }

    enum CodingKeys: String, CodingKey {
        case scope, period, percent, state
        case periodKey = "period_key"
        case spentUSD = "spent_usd"
        case reservedUSD = "reserved_usd"
        case limitUSD = "limit_usd"
        case resetsAt = "resets_at"
    }
}

/// A reservation whose coordinator stopped before the call settled: charged at its amount.
public struct UnsettledView: Codable, Sendable, Equatable {
    public var requestID: String
    public var at: String
    public var node: String
    public var group: String
    public var chargedUSD: Double

    public init(requestID: String, at: String, node: String, group: String, chargedUSD: Double) {
        self.requestID = requestID
        self.at = at
        self.node = node
        self.group = group
        self.chargedUSD = chargedUSD
    }

    enum CodingKeys: String, CodingKey {
        case at, node, group
        case requestID = "request_id"
        case chargedUSD = "charged_usd"
    }
}

/// `GET /admin/v1/budgets`.
public struct BudgetsReport: Codable, Sendable, Equatable {
    public var timeZone: String
    public var softThresholdPercent: Double
    public var scopes: [BudgetScopeView]
    public var unsettled: [UnsettledView]

    public init(timeZone: String, softThresholdPercent: Double, scopes: [BudgetScopeView], unsettled: [UnsettledView]) {
        self.timeZone = timeZone
        self.softThresholdPercent = softThresholdPercent
        self.scopes = scopes
        self.unsettled = unsettled
    }

    enum CodingKeys: String, CodingKey {
        case scopes, unsettled
        case timeZone = "time_zone"
        case softThresholdPercent = "soft_threshold_percent"
    }
}

/// Kinds of fleet events. Raw values are part of the API.
public enum EventKind: String, Codable, Sendable, CaseIterable {
    /// A budget's spend reached its soft threshold (once per scope and period).
    case budgetSoftThreshold = "budget_soft_threshold"
    /// A call was refused because a budget had no room left (once per scope and period).
    case budgetExhausted = "budget_exhausted"
    /// Calls were refused by a rate limit (one event per scope and minute, with the count).
    case rateLimited = "rate_limited"
    /// A call cost more than its reservation (content fetched by reference billed more input
    /// than a request can show); its actual cost was charged.
    case budgetOverrun = "budget_overrun"
    /// A scope passed its `downgrade.at` share: its calls go to the cheaper model (once per
    /// scope and period).
    case budgetDowngrade = "budget_downgrade"
}

/// One event (`flotilla events`).
public struct EventView: Codable, Sendable, Equatable {
    public var at: String
    public var kind: EventKind
    /// `fleet`, `group demo`, `node demo-1`.
    public var scope: String
    public var message: String

    public init(at: String, kind: EventKind, scope: String, message: String) {
        self.at = at
        self.kind = kind
        self.scope = scope
        self.message = message
    }
}
