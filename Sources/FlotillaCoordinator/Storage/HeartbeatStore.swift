import FlotillaProtocol
import Foundation

/// One accepted heartbeat waiting to be committed.
struct HeartbeatEntry: Sendable {
    var nodeID: String
    var receivedAt: Date
    var readings: HeartbeatRequest
}

/// One point of a node's chart: the bucket's start and its readings.
struct ReadingPoint: Sendable, Equatable {
    var at: Date
    var cpuPercent: Double?
    var cpuMax: Double?
    var memAvailableBytes: Int64?
    var diskFreeBytes: Int64?
    var temperatureC: Double?
    var samples: Int
}

/// The heartbeat time series, each node's latest state, and the per-minute roll-up charts read.
protocol HeartbeatStore: Sendable {
    /// How the heartbeat writer's group commit writes a batch: the latest state per node
    /// upserted (never moved back in time) and every heartbeat appended, in one transaction.
    var heartbeatCommit: BatchCommit<HeartbeatEntry> { get }
    /// Deletes time-series heartbeats received before `cutoff`, in chunks; returns how many.
    func pruneHeartbeats(before cutoff: Date) async throws(CoordinatorError) -> Int
    /// Folds up to `maxRows` heartbeats not yet summarised into the per-minute roll-up; returns
    /// how many were read (`maxRows` means there may be more).
    func rollUpHeartbeats(maxRows: Int64) async throws(CoordinatorError) -> Int64
    /// Deletes per-minute summaries before `cutoff`.
    func pruneHeartbeatMinutes(before cutoff: Date) async throws(CoordinatorError)
    /// `nodeID`'s readings from `from` to `to` in at most about `points` buckets: the roll-up
    /// plus heartbeats not summarised yet (a page view never writes).
    func readings(nodeID: String, from: Date, to: Date, points: Int) async throws(CoordinatorError) -> [ReadingPoint]
    /// Time-series rows of `nodeID` (tests and diagnostics).
    func heartbeatCount(nodeID: String) async throws(CoordinatorError) -> Int
}

extension HeartbeatStore {
    func readings(nodeID: String, from: Date, to: Date) async throws(CoordinatorError) -> [ReadingPoint] {
        try await readings(nodeID: nodeID, from: from, to: to, points: 240)
    }

    func rollUpHeartbeats() async throws(CoordinatorError) -> Int64 {
        try await rollUpHeartbeats(maxRows: 500_000)
    }
}
