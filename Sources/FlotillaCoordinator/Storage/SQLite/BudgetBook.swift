import Synchronization

/// The budget counters in memory: the authority every reservation is checked against, under one
/// lock, so concurrent calls can never together reserve past a limit. `SQLiteUsageLedger` loads
/// it from `budget_counters` at start and writes every change there before it is acted on (a
/// reservation before its call is forwarded; a settlement with its usage record).
final class BudgetBook: Sendable {
    private let counters = Mutex<[BudgetCounterKey: CounterState]>([:])
    /// Counters that refused a call (a scope with no room left shows as exhausted).
    private let refused = Mutex<Set<BudgetCounterKey>>([])

    init(_ loaded: [BudgetCounterKey: CounterState] = [:]) {
        counters.withLock { $0 = loaded }
    }

    /// Holds `reservation.amountNanos` on all its counters if it fits under every limit;
    /// otherwise changes nothing and returns the counter it would overrun that resets last (so
    /// its `Retry-After` is never too early).
    func tryReserve(_ reservation: Reservation) -> ReservationResult {
        let result = counters.withLock { counters in Self.reserve(reservation, in: &counters) }
        if case .refused(let check, _) = result { refused.withLock { _ = $0.insert(check.key) } }
        return result
    }

    /// The reservation rule, on `counters` (all of the reservation's counters, locked by the
    /// caller): the amount is held on every counter if it fits under every limit; otherwise
    /// nothing changes and the result names the counter it would overrun that resets last.
    /// The embedded store applies it in memory; PostgreSQL's ledger to rows it has locked.
    static func reserve(_ reservation: Reservation, in counters: inout [BudgetCounterKey: CounterState]) -> ReservationResult {
        var overrun: (BudgetCheck, CounterState)?
        for check in reservation.checks {
            let state = counters[check.key] ?? CounterState()
            let wanted = sum(state.spentNanos, sum(state.reservedNanos, reservation.amountNanos))
            if wanted > check.limitNanos, overrun.map({ check.resetsAt > $0.0.resetsAt }) ?? true { overrun = (check, state) }
        }
        if let (check, state) = overrun { return .refused(check, state) }
        for check in reservation.checks {
            counters[check.key, default: CounterState()].reservedNanos = sum(counters[check.key]?.reservedNanos ?? 0, reservation.amountNanos)
        }
        return .reserved
    }

    /// `a + b`, stopping at the largest value instead of trapping.
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int64.max : value
    }

    /// Releases a reservation's hold and charges `costNanos` instead (also used to undo a
    /// reservation that could not be stored, with a cost of 0).
    func settle(_ reservation: Reservation, costNanos: Int64) {
        counters.withLock { counters in
            for check in reservation.checks {
                counters[check.key, default: CounterState()].reservedNanos -= reservation.amountNanos
                counters[check.key, default: CounterState()].spentNanos = Self.sum(counters[check.key]?.spentNanos ?? 0, costNanos)
            }
        }
    }

    /// The figures of `keys`.
    func figures(_ keys: [BudgetCounterKey]) -> [BudgetCounterKey: CounterState] {
        let refusing = refused.withLock { refused in Set(keys.filter { refused.contains($0) }) }
        return counters.withLock { counters in
            Dictionary(keys.map { key in
                var state = counters[key] ?? CounterState()
                state.refusedCalls = refusing.contains(key)
                return (key, state)
            }, uniquingKeysWith: { a, _ in a })
        }
    }
}
