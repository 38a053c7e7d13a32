import FlotillaProtocol
import Foundation
import GRDB

/// Per-node, per-minute summaries of the heartbeat time series (`heartbeat_minutes`), for the
/// dashboard's charts. The raw series has no per-node index on purpose (it is the write hot
/// path), so a chart would otherwise scan every node's rows; the roll-up reads only the rows
/// added since the last roll-up (rowid order is time order) and is keyed by node and minute.
extension SQLiteStore {
    static let heartbeatRollupSchema = """
        CREATE TABLE heartbeat_minutes (
            node_id TEXT NOT NULL,
            minute INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            cpu_sum REAL NOT NULL,
            cpu_count INTEGER NOT NULL,
            cpu_max REAL,
            mem_available_min INTEGER,
            disk_free_min INTEGER,
            temperature_sum REAL NOT NULL,
            temperature_count INTEGER NOT NULL,
            temperature_max REAL,
            PRIMARY KEY (node_id, minute)
        ) WITHOUT ROWID;
        CREATE INDEX heartbeat_minutes_minute ON heartbeat_minutes(minute);
        """

    static let rollupCursorKey = "heartbeat_rollup_rowid"

    /// Folds heartbeats received since the last roll-up into `heartbeat_minutes`; returns the
    /// rows read. Safe to call at any time (one transaction; a partly filled minute is merged).
    @discardableResult
    func rollUpHeartbeats(maxRows: Int64) async throws(CoordinatorError) -> Int64 {
        try write { db in
            var cursor = try Self.rollupCursor(db)
            guard let newest = try Int64.fetchOne(db, sql: "SELECT MAX(rowid) FROM heartbeats") else { return 0 }
            // Rowids start again from 1 after pruning emptied the table (no AUTOINCREMENT): the
            // cursor follows them down, or nothing would be summarised until they passed it.
            if newest < cursor { cursor = try Int64.fetchOne(db, sql: "SELECT MIN(rowid) - 1 FROM heartbeats") ?? 0 }
            guard newest > cursor else { return 0 }
            let upTo = min(newest, cursor + maxRows)
            try db.execute(sql: """
                INSERT INTO heartbeat_minutes
                SELECT node_id, CAST(received_at / 60 AS INTEGER), COUNT(*),
                       TOTAL(cpu_percent), COUNT(cpu_percent), MAX(cpu_percent),
                       MIN(mem_available_bytes), MIN(disk_free_bytes),
                       TOTAL(temperature_c), COUNT(temperature_c), MAX(temperature_c)
                FROM heartbeats WHERE rowid > ? AND rowid <= ? GROUP BY 1, 2
                ON CONFLICT(node_id, minute) DO UPDATE SET
                    samples = samples + excluded.samples,
                    cpu_sum = cpu_sum + excluded.cpu_sum, cpu_count = cpu_count + excluded.cpu_count,
                    cpu_max = MAX(COALESCE(cpu_max, excluded.cpu_max), COALESCE(excluded.cpu_max, cpu_max)),
                    mem_available_min = MIN(COALESCE(mem_available_min, excluded.mem_available_min), COALESCE(excluded.mem_available_min, mem_available_min)),
                    disk_free_min = MIN(COALESCE(disk_free_min, excluded.disk_free_min), COALESCE(excluded.disk_free_min, disk_free_min)),
                    temperature_sum = temperature_sum + excluded.temperature_sum,
                    temperature_count = temperature_count + excluded.temperature_count,
                    temperature_max = MAX(COALESCE(temperature_max, excluded.temperature_max), COALESCE(excluded.temperature_max, temperature_max))
                """, arguments: [cursor, upTo])
            try db.execute(sql: "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [Self.rollupCursorKey, String(upTo)])
            return upTo - cursor
        }
    }

    static func rollupCursor(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?", arguments: [rollupCursorKey]) ?? 0
    }

    /// Deletes summaries of minutes before `cutoff`.
    func pruneHeartbeatMinutes(before cutoff: Date) async throws(CoordinatorError) {
        try write { db in
            try db.execute(sql: "DELETE FROM heartbeat_minutes WHERE minute < ?", arguments: [Int64(cutoff.timeIntervalSince1970 / 60)])
        }
    }

    /// `nodeID`'s readings from `from` to `to` in at most about `points` buckets (averages for
    /// CPU and temperature, the lowest free memory and disk), aggregated in SQL: the summaries,
    /// plus the heartbeats received since the last roll-up (read, not rolled up: a page view
    /// never writes).
    func readings(nodeID: String, from: Date, to: Date, points: Int) async throws(CoordinatorError) -> [ReadingPoint] {
        let first = Int64(from.timeIntervalSince1970 / 60)
        let last = Int64(to.timeIntervalSince1970 / 60)
        let width = max(1, (last - first + 1 + Int64(points) - 1) / Int64(points))
        return try read { db in
            let cursor = try Self.rollupCursor(db)
            return try Row.fetchAll(db, sql: """
                SELECT minute / ? AS bucket, SUM(samples) AS samples,
                       CASE WHEN SUM(cpu_count) > 0 THEN SUM(cpu_sum) / SUM(cpu_count) END AS cpu, MAX(cpu_max) AS cpu_max,
                       MIN(mem_available_min) AS mem, MIN(disk_free_min) AS disk,
                       CASE WHEN SUM(temperature_count) > 0 THEN SUM(temperature_sum) / SUM(temperature_count) END AS temperature
                FROM (
                    SELECT minute, samples, cpu_sum, cpu_count, cpu_max, mem_available_min, disk_free_min, temperature_sum, temperature_count
                    FROM heartbeat_minutes WHERE node_id = ? AND minute BETWEEN ? AND ?
                    UNION ALL
                    SELECT CAST(received_at / 60 AS INTEGER), 1, COALESCE(cpu_percent, 0), cpu_percent IS NOT NULL, cpu_percent,
                           mem_available_bytes, disk_free_bytes, COALESCE(temperature_c, 0), temperature_c IS NOT NULL
                    FROM heartbeats WHERE rowid > ? AND node_id = ? AND received_at >= ? AND received_at < ?
                ) GROUP BY bucket ORDER BY bucket
                """, arguments: [width, nodeID, first, last, cursor, nodeID, Double(first * 60), Double((last + 1) * 60)]).map { row in
                ReadingPoint(at: Date(timeIntervalSince1970: Double((row["bucket"] as Int64) * width * 60)), cpuPercent: row["cpu"],
                             cpuMax: row["cpu_max"], memAvailableBytes: row["mem"], diskFreeBytes: row["disk"],
                             temperatureC: row["temperature"], samples: row["samples"])
            }
        }
    }
}
