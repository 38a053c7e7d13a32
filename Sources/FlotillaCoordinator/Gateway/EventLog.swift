import FlotillaProtocol
import Foundation

/// A fleet event as stored.
struct FleetEvent: Sendable, Equatable {
    var at: Date
    var kind: EventKind
    var scope: String
    var message: String
}

/// Where budget and rate-limit events are kept. The SQLite implementation is `SQLiteEventLog`.
protocol EventLog: Sendable {
    /// Appends `event`; with `onceAs`, only the first event ever appended under that key is kept
    /// (a soft threshold is raised once per scope and period, across restarts too).
    func append(_ event: FleetEvent, onceAs key: String?) async throws(CoordinatorError)
    /// Events at or after `since`, newest first.
    func events(since: Date, limit: Int) async throws(CoordinatorError) -> [FleetEvent]
}
