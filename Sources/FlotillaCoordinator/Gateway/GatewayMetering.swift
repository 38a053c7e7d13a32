import FlotillaProtocol
import Foundation
import HTTPTypes
import Logging
import Synchronization

/// What an admitted call holds until it ends: its rate-limit ticket and budget reservation, and
/// the `x-ratelimit-*` headers its answer carries.
struct Admission: Sendable {
    var ticket: RateLimiter.Ticket?
    var reservation: Reservation?
    var headers: HTTPFields
    /// With a reservation: the output tokens per completion it holds, which the forwarded body is
    /// clamped to.
    var outputCap: Int64?
}

/// Admission and settlement of gateway calls: rate limits, then the budget reservation (durable
/// before the call is forwarded), and at the end the usage record with the settlement, plus the
/// events budgets and limits raise.
final class GatewayMetering: Sendable {
    let ledger: any UsageLedger
    let events: any EventLog
    let limiter: RateLimiter
    let logger: Logger
    /// Gateway calls, tokens, cost and refusals for `/metrics`.
    let metrics: FleetMetrics
    /// Wall-clock time for budget periods (injectable: tests move to the next day).
    let clock: @Sendable () -> Date
    /// Once-per-period event keys already raised by this process (the log dedupes across restarts).
    private let raised = Mutex<Set<String>>([])

    init(ledger: any UsageLedger, events: any EventLog, limiter: RateLimiter = RateLimiter(), logger: Logger,
         metrics: FleetMetrics = FleetMetrics(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.metrics = metrics
        self.events = events
        self.limiter = limiter
        self.logger = logger
        self.clock = clock
    }

    /// The budget counters `node`'s call is checked against now.
    func budgetChecks(_ node: AuthenticatedNode, catalog: GatewayCatalog) -> BudgetChecks {
        let now = clock()
        return BudgetChecks(at: now, checks: BudgetPolicy.checks(catalog.spec.budgets, node: node.record, group: node.group, at: now))
    }

    /// Admits `call` under the rate limits and under `budgets` (`budgetChecks`), or throws
    /// `rate_limited` / `budget_exceeded` (429, with `Retry-After`). Returns once the reservation
    /// is durable. `prices`: of each target the call may go to; it reserves the dearest one's
    /// worst case, so a fallback cannot overrun what was reserved.
    func admit(_ call: GatewayCall, request: RequestSummary, prices: [ModelPrice], catalog: GatewayCatalog, budgets: BudgetChecks)
        async throws(CoordinatorError) -> Admission
    {
        let node = call.node
        let prices = prices.isEmpty ? [ModelPrice(inputMicros: 0, outputMicros: 0)] : prices
        let outputCap = prices.map { BudgetPolicy.outputCap(request, price: $0) }.max() ?? 0
        var admission = Admission(ticket: nil, reservation: nil, headers: [:])
        let scopes = Self.rateScopes(catalog.spec.limits, node: node.record, group: node.group)
        if !scopes.isEmpty {
            switch limiter.admit(scopes, estimatedTokens: request.estimatedInputTokens + outputCap * request.choices) {
            case .admitted(let ticket, let requests, let tokens):
                admission.ticket = ticket
                admission.headers = Self.headers(requests: requests, tokens: tokens)
            case .refused(let scope, let reason, let wait, let requests, let tokens):
                throw CoordinatorError(.rateLimited, "rate limit of \(scope.label): \(reason); retry in \(Self.seconds(wait))",
                                       retryAfter: wait, headers: Self.headers(requests: requests, tokens: tokens))
            }
        }
        let (now, checks) = (budgets.at, budgets.checks)
        guard !checks.isEmpty else { return admission }
        let reservation = Reservation(requestID: call.requestID, at: now, nodeID: node.id, group: node.group,
                                      amountNanos: prices.map { BudgetPolicy.worstCaseNanos(request, price: $0) }.max() ?? 0, checks: checks)
        let result: ReservationResult
        do {
            result = try await ledger.reserve(reservation)
        } catch {
            if let ticket = admission.ticket { limiter.cancel(ticket) }
            throw error
        }
        guard case .refused(let check, let state) = result else {
            admission.reservation = reservation
            admission.outputCap = outputCap
            return admission
        }
        if let ticket = admission.ticket { limiter.cancel(ticket) }
        await raise(.budgetExhausted, scope: check.label, onceAs: "exhausted|\(check.key.scope)|\(check.key.period)|\(check.key.periodKey)", message:
            "\(check.label)'s \(check.key.period) budget of \(BudgetPolicy.dollars(check.limitNanos)) has no room: spent \(BudgetPolicy.dollars(state.spentNanos)), reserved \(BudgetPolicy.dollars(state.reservedNanos))")
        let wait = max(1, check.resetsAt.timeIntervalSince(now))
        throw CoordinatorError(
            .budgetExceeded,
            "\(check.label)'s \(check.key.period) budget of \(BudgetPolicy.dollars(check.limitNanos)) is used up (spent \(BudgetPolicy.dollars(state.spentNanos)), held by calls in flight \(BudgetPolicy.dollars(state.reservedNanos)), this call may cost up to \(BudgetPolicy.dollars(reservation.amountNanos))); it resets in \(Self.seconds(wait))",
            retryAfter: wait, headers: admission.headers
        )
    }

    /// The `x-ratelimit-*` headers of `node` now, for answers that took nothing (refusals before
    /// admission, the model list).
    func currentHeaders(_ node: AuthenticatedNode, catalog: GatewayCatalog) -> HTTPFields {
        let scopes = Self.rateScopes(catalog.spec.limits, node: node.record, group: node.group)
        guard !scopes.isEmpty else { return [:] }
        let (requests, tokens) = limiter.figures(scopes)
        return Self.headers(requests: requests, tokens: tokens)
    }

    /// Records a call that ended, settling what it held; returns once durable.
    func finish(_ admission: Admission?, _ record: UsageRecord) async throws(CoordinatorError) {
        if let ticket = admission?.ticket { limiter.finish(ticket, actualTokens: record.usage.input + record.usage.output) }
        let record = Self.charged(record, admission?.reservation)
        let figures = try await ledger.record(record, settling: admission?.reservation)
        metrics.gatewayCall(record)
        guard let reservation = admission?.reservation else { return }
        await raiseSoftThresholds(reservation, figures)
        if record.costNanos > reservation.amountNanos {
            // Only content fetched by reference (a long document, a provider-side tool) can bill
            // more input than the reservation assumed.
            await raise(.budgetOverrun, scope: reservation.checks.first?.label ?? "node", onceAs: nil, message:
                "call \(record.requestID) cost \(BudgetPolicy.dollars(record.costNanos)), more than the \(BudgetPolicy.dollars(reservation.amountNanos)) reserved")
        }
    }

    /// `finish` for a call abandoned where nothing can wait.
    func finishEventually(_ admission: Admission?, _ record: UsageRecord) {
        if let ticket = admission?.ticket { limiter.finish(ticket, actualTokens: record.usage.input + record.usage.output) }
        let record = Self.charged(record, admission?.reservation)
        ledger.recordEventually(record, settling: admission?.reservation)
        metrics.gatewayCall(record)
    }

    /// An estimate never charges more than the call's reservation (its true worst case); the
    /// provider's own figures are charged as they are.
    static func charged(_ record: UsageRecord, _ reservation: Reservation?) -> UsageRecord {
        guard let reservation, record.source == .estimated || record.source == .partial, record.costNanos > reservation.amountNanos else {
            return record
        }
        var capped = record
        capped.costNanos = reservation.amountNanos
        return capped
    }

    /// Raises a soft-threshold event for each counter whose spend reached it this period.
    private func raiseSoftThresholds(_ reservation: Reservation, _ figures: [BudgetCounterKey: CounterState]) async {
        for check in reservation.checks {
            guard let state = figures[check.key], Double(state.spentNanos) >= Double(check.limitNanos) * check.softPercent / 100
            else { continue }
            await raise(.budgetSoftThreshold, scope: check.label, onceAs: "soft|\(check.key.scope)|\(check.key.period)|\(check.key.periodKey)", message:
                "\(check.label) spent \(BudgetPolicy.dollars(state.spentNanos)) of its \(check.key.period) budget of \(BudgetPolicy.dollars(check.limitNanos)) (\(check.key.periodKey))")
        }
    }

    /// Stores an event; with `key`, only the first time that key is raised (per period events).
    func raise(_ kind: EventKind, scope: String, onceAs key: String?, message: String) async {
        if let key {
            let isNew = raised.withLock { $0.insert(key).inserted }
            guard isNew else { return }
        }
        do {
            try await events.append(FleetEvent(at: clock(), kind: kind, scope: scope, message: message), onceAs: key)
            logger.notice("\(kind.rawValue)", metadata: ["scope": "\(scope)", "detail": "\(message)"])
        } catch {
            if let key { raised.withLock { _ = $0.remove(key) } }
            logger.error("event not stored", metadata: ["kind": "\(kind.rawValue)", "error": "\(error.message)"])
        }
    }

    /// Writes one `rate_limited` event per scope with the refusals since the last flush.
    func flushRateLimitEvents() async {
        for (scope, count) in limiter.drainRefusals().sorted(by: { $0.key < $1.key }) {
            do {
                try await events.append(FleetEvent(at: clock(), kind: .rateLimited, scope: scope,
                                                   message: "\(count) call(s) refused by the rate limits of \(scope)"), onceAs: nil)
            } catch {
                logger.error("event not stored", metadata: ["kind": "rate_limited", "error": "\(error.message)"])
            }
        }
    }

    /// The node's (own or default), group's and fleet's rate limits.
    static func rateScopes(_ limits: LimitSpec?, node: NodeRecord, group: String) -> [RateLimiter.Scope] {
        guard let limits else { return [] }
        var scopes: [RateLimiter.Scope] = []
        if let limit = limits.nodes[node.name] ?? limits.nodes["default"] {
            scopes.append(RateLimiter.Scope(key: "node:\(node.id)", label: "node \(node.name)", limit: limit))
        }
        if let limit = limits.groups[group] { scopes.append(RateLimiter.Scope(key: "group:\(group)", label: "group \(group)", limit: limit)) }
        if let limit = limits.fleet { scopes.append(RateLimiter.Scope(key: "fleet", label: "fleet", limit: limit)) }
        return scopes
    }

    /// `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (OpenAI's names and formats).
    static func headers(requests: RateLimiter.Figures?, tokens: RateLimiter.Figures?) -> HTTPFields {
        var fields = HTTPFields()
        for (kind, figures) in [("requests", requests), ("tokens", tokens)] {
            guard let figures else { continue }
            fields[HTTPField.Name("x-ratelimit-limit-\(kind)")!] = String(figures.limit)
            fields[HTTPField.Name("x-ratelimit-remaining-\(kind)")!] = String(figures.remaining)
            fields[HTTPField.Name("x-ratelimit-reset-\(kind)")!] = seconds(figures.reset)
        }
        return fields
    }

    /// `0.5s`, `12s`, `3m4s`, `5h2m`: the duration format of OpenAI's reset headers.
    static func seconds(_ value: Double) -> String {
        if value < 10 { return String(format: "%.3gs", max(0, value)) }
        let whole = Int(value.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
        return "\(whole / 3600)h\((whole % 3600) / 60)m"
    }
}
