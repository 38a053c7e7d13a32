import FlotillaProtocol
import Foundation

/// Which gateway endpoint a call used.
enum GatewayEndpoint: String, Sendable {
    case chatCompletions = "chat.completions"
    case embeddings
    case messages
}

/// Token counts of one call. `input` includes cached and cache-write tokens.
struct TokenUsage: Sendable, Equatable {
    var input: Int64 = 0
    var output: Int64 = 0
    /// Input tokens read from the provider's prompt cache.
    var cached: Int64 = 0
    /// Input tokens written to the provider's prompt cache (Anthropic).
    var cacheWrite: Int64 = 0

    /// The cost at `price` in billionths of a USD, rounded up: tokens × (millionths of a USD
    /// per million tokens) / 1000. Saturates at `maxCostNanos` instead of overflowing.
    func costNanos(at price: ModelPrice) -> Int64 {
        let uncached = max(0, input - cached - cacheWrite)
        var total: Int64 = 0
        for (tokens, micros) in [(uncached, price.inputMicros), (cached, price.cachedInputMicros),
                                 (cacheWrite, price.cacheWriteMicros), (output, price.outputMicros)] {
            let (product, overflow) = max(0, tokens).multipliedReportingOverflow(by: max(0, micros))
            guard !overflow, product <= Self.maxCostNanos * 1000 - total else { return Self.maxCostNanos }
            total += product
        }
        return min((total + 999) / 1000, Self.maxCostNanos)
    }

    /// One million USD: no single call costs more (keeps every sum far from overflowing).
    static let maxCostNanos: Int64 = 1_000_000 * 1_000_000_000
}

/// One gateway call as the ledger keeps it.
struct UsageRecord: Sendable, Equatable {
    var requestID: String
    var at: Date
    var nodeID: String
    var group: String
    /// Empty when the call was refused before its model resolved.
    var provider: String
    var model: String
    var upstreamModel: String
    var endpoint: GatewayEndpoint
    var streamed: Bool
    var usage: TokenUsage
    var costNanos: Int64
    var priceVersion: Int64?
    /// Milliseconds from the request's arrival to its last byte, and to the upstream's first.
    var latencyMs: Double
    var ttfbMs: Double?
    /// The HTTP status the caller got.
    var status: Int
    var outcome: UsageOutcome
    var source: UsageSource
    var errorCode: String?
}

/// Sums over a set of usage records.
struct UsageAggregate: Sendable, Equatable {
    var key: String
    var calls: Int = 0
    var refused: Int = 0
    var failed: Int = 0
    /// Attempts that failed and went on to the model's next target (not counted in `calls`).
    var fallbacks: Int = 0
    var inputTokens: Int64 = 0
    var outputTokens: Int64 = 0
    var cachedTokens: Int64 = 0
    var costNanos: Int64 = 0
}

/// What to sum: records in `[from, to)`, grouped, optionally of one node or group.
struct UsageQuery: Sendable {
    var by: UsageGrouping
    var from: Date
    var to: Date
    var nodeID: String?
    var group: String?
}

extension UsageQuery {
    /// This range with each end before `keptFrom` (a UTC midnight before which records were
    /// pruned) moved out to the UTC midnight around it, so the range holds only whole days there.
    func widened(keptFrom: Date?) -> UsageQuery {
        guard let keptFrom, from < to else { return self }
        var range = self
        if from < keptFrom { range.from = UTCCalendar.startOfDay(from) }
        if to < keptFrom, UTCCalendar.startOfDay(to) != to { range.to = UTCCalendar.startOfDay(to).addingTimeInterval(86_400) }
        return range
    }
}

extension UsageAggregate {
    /// The sums of `rows`, under `key`.
    static func total(of rows: [UsageAggregate], key: String = "total") -> UsageAggregate {
        var total = UsageAggregate(key: key)
        for row in rows {
            total.calls += row.calls
            total.refused += row.refused
            total.failed += row.failed
            total.fallbacks += row.fallbacks
            total.inputTokens += row.inputTokens
            total.outputTokens += row.outputTokens
            total.cachedTokens += row.cachedTokens
            total.costNanos += row.costNanos
        }
        return total
    }
}

/// Calls and spend of one UTC day and model.
struct DailySpend: Sendable, Equatable {
    var day: String
    var model: String
    var calls: Int
    var inputTokens: Int64
    var outputTokens: Int64
    var costNanos: Int64
}

/// A node's spend today and this month (UTC), in billionths of a USD.
struct NodeSpend: Sendable, Equatable {
    var todayNanos: Int64 = 0
    var monthNanos: Int64 = 0
}

/// A budget counter's figures.
struct CounterState: Sendable, Equatable {
    var spentNanos: Int64 = 0
    /// Held by calls in flight (their worst case).
    var reservedNanos: Int64 = 0
    /// Whether the counter has refused a call (views show it as exhausted).
    var refusedCalls = false
}

/// What a call holds on its budget counters while it is in flight: its worst-case cost on each.
struct Reservation: Sendable, Equatable {
    var requestID: String
    var at: Date
    var nodeID: String
    var group: String
    var amountNanos: Int64
    var checks: [BudgetCheck]
}

/// Whether a reservation was taken, or the counter it would have overrun.
enum ReservationResult: Sendable, Equatable {
    case reserved
    case refused(BudgetCheck, CounterState)
}

/// A reservation that never settled (its coordinator stopped mid-call): charged at its amount.
struct UnsettledReservation: Sendable, Equatable {
    var requestID: String
    var at: Date
    var nodeID: String
    var group: String
    var amountNanos: Int64
}

/// The usage ledger: one record per gateway call, durable before the caller has its answer, and
/// the budget counters calls reserve against before they are forwarded. The SQLite
/// implementation is `SQLiteUsageLedger` (group commit, counters in memory and on disk); a
/// shared database backend checks and reserves in its own transactions.
protocol UsageLedger: Sendable {
    /// Checks every counter of `reservation` and, when the amount fits under all of them, holds
    /// it on all of them; returns once the reservation is durable, or the counter it would overrun.
    func reserve(_ reservation: Reservation) async throws(CoordinatorError) -> ReservationResult
    /// Appends `record` and settles `settling` (its hold released, the record's cost charged) in
    /// one transaction; returns once durable, with the settled counters' figures.
    @discardableResult
    func record(_ record: UsageRecord, settling: Reservation?) async throws(CoordinatorError) -> [BudgetCounterKey: CounterState]
    /// Queues `record` (and its settlement) to be appended with the next commit, without waiting:
    /// only for a call abandoned where nothing can wait (its answer was never started).
    func recordEventually(_ record: UsageRecord, settling: Reservation?)
    /// The figures of `keys` (zero for counters never charged).
    func counters(_ keys: [BudgetCounterKey]) async -> [BudgetCounterKey: CounterState]
    /// Reservations that never settled, newest first.
    func unsettledReservations() async throws(CoordinatorError) -> [UnsettledReservation]
    /// Sums per group key (node ids when grouping by node), most expensive first, over `query`
    /// widened by `UsageQuery.widened(keptFrom:)` to whole days where records were pruned, with
    /// the range they cover; consistent with a pruning pass in flight.
    func report(_ query: UsageQuery) async throws(CoordinatorError) -> (range: UsageQuery, rows: [UsageAggregate])
    /// Spend of the nodes `nodeIDs` (nil: every node) on the UTC day `today` and since the
    /// month's first day.
    func nodeSpend(today: Date, nodeIDs: [String]?) async throws(CoordinatorError) -> [String: NodeSpend]
    /// Calls and spend per UTC day and model from `fromDay` to `toDay` (`YYYY-MM-DD`, both
    /// included), for one node or the whole fleet: the dashboard's spend charts and totals.
    func dailySpend(fromDay: String, toDay: String, nodeID: String?) async throws(CoordinatorError) -> [DailySpend]
    /// How many records carry `requestID` (benchmarks and crash tests check acknowledged calls).
    func count(requestIDs: [String]) async throws(CoordinatorError) -> Int
    /// Deletes the records of the UTC days before the one holding `before`, keeping their days'
    /// roll-up; returns how many went. Reports then read those days whole from the roll-up.
    func pruneRecords(before: Date) async throws(CoordinatorError) -> Int
}

extension UsageLedger {
    /// Appends a record of a call that reserved nothing.
    func record(_ record: UsageRecord) async throws(CoordinatorError) {
        try await self.record(record, settling: nil)
    }
}
