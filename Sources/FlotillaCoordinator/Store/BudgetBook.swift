import Synchronization

/// The budget counters in memory: the authority every reservation is checked against, under one
/// lock, so concurrent calls can never together reserve past a limit. `SQLiteUsageLedger` loads
/// it from `budget_counters` at start and writes every change there before it is acted on (a
/// reservation before its call is forwarded; a settlement with its usage record).
final class BudgetBook: Sendable {
    private let counters = Mutex<[BudgetCounterKey: CounterState]>([:])

    init(_ loaded: [BudgetCounterKey: CounterState] = [:]) {
        counters.withLock { $0 = loaded }
    }

    /// Holds `reservation.amountNanos` on all its counters if it fits under every limit;
    /// otherwise changes nothing and returns the first counter it would overrun.
    func tryReserve(_ reservation: Reservation) -> ReservationResult {
        counters.withLock { counters in
            for check in reservation.checks {
                let state = counters[check.key] ?? CounterState()
                let (wanted, overflow) = state.spentNanos.addingReportingOverflow(state.reservedNanos &+ reservation.amountNanos)
                if overflow || wanted > check.limitNanos { return .refused(check, state) }
            }
            for check in reservation.checks { counters[check.key, default: CounterState()].reservedNanos += reservation.amountNanos }
            return .reserved
        }
    }

    /// Releases a reservation's hold and charges `costNanos` instead (also used to undo a
    /// reservation that could not be stored, with a cost of 0).
    func settle(_ reservation: Reservation, costNanos: Int64) {
        counters.withLock { counters in
            for check in reservation.checks {
                counters[check.key, default: CounterState()].reservedNanos -= reservation.amountNanos
                counters[check.key, default: CounterState()].spentNanos += costNanos
            }
        }
    }

    /// The figures of `keys`.
    func figures(_ keys: [BudgetCounterKey]) -> [BudgetCounterKey: CounterState] {
        counters.withLock { counters in
            Dictionary(keys.map { ($0, counters[$0] ?? CounterState()) }, uniquingKeysWith: { a, _ in a })
        }
    }
}
