import FlotillaProtocol
import Foundation
import GRDB

/// Retention of the per-call records (`serve --usage-retention`). Whole UTC days go, oldest
/// first, in small batches; the daily roll-up, which is kept, answers for every pruned day. The
/// boundary is stored before the first record goes, in the first batch's transaction, so a report
/// never reads a day whose records are partly gone, even while a pass runs or after one stopped
/// halfway (a shutdown, a failed write).
extension SQLiteUsageLedger {
    static let keptFromKey = "usage_records_kept_from"
    /// Records deleted per transaction: each holds the database's writer, which the usage
    /// records of gateway calls wait for.
    static let pruneBatch = 2000

    /// Deletes the records of the UTC days before the one holding `before`; returns how many
    /// went. The boundary only moves forward: a later pass with a shorter reach keeps it.
    func pruneRecords(before: Date) async throws(CoordinatorError) -> Int {
        let boundary = UTCCalendar.startOfDay(before).timeIntervalSince1970
        var total = 0
        var first = true
        while true {
            let removed: Int
            do {
                removed = try await store.pool.write { [first] db in
                    if first {
                        try db.execute(sql: """
                            INSERT INTO settings(key, value) VALUES (?, ?)
                            ON CONFLICT(key) DO UPDATE SET value = MAX(CAST(value AS REAL), excluded.value)
                            """, arguments: [Self.keptFromKey, boundary])
                    }
                    try db.execute(sql: "DELETE FROM usage WHERE id IN (SELECT id FROM usage WHERE at < ? ORDER BY at LIMIT ?)",
                                   arguments: [boundary, Self.pruneBatch])
                    return db.changesCount
                }
            } catch is CancellationError {
                throw .internal("usage pruning stopped")
            } catch {
                throw .internal("usage records not pruned: \(error)")
            }
            first = false
            total += removed
            if removed < Self.pruneBatch { return total }
        }
    }

    /// The UTC midnight from which every record is kept; nil when none was ever pruned.
    func recordsKeptFrom() async throws(CoordinatorError) -> Date? {
        try await read { db in try Self.keptFrom(db) }
    }

    static func keptFrom(_ db: Database) throws -> Date? {
        try Double.fetchOne(db, sql: "SELECT CAST(value AS REAL) FROM settings WHERE key = ?", arguments: [keptFromKey])
            .map { Date(timeIntervalSince1970: $0) }
    }
}
