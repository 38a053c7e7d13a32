import FlotillaProtocol
import Foundation
import NIOCore
import PostgresNIO

/// The heartbeat time series on PostgreSQL. A batch goes in as one JSON document unpacked by
/// `jsonb_to_recordset` (two statements per batch, whatever its size); the latest state per
/// node never moves back in time, whichever coordinator wrote it.
extension PostgresStore {
    /// One heartbeat as the batch document carries it.
    private struct Row: Encodable {
        var node_id: String
        var received_at: Double
        var sequence: Int64?
        var agent_version: String?
        var arch: String?
        var kernel: String?
        var uptime_seconds: Double?
        var load_1m: Double?
        var load_5m: Double?
        var load_15m: Double?
        var cpu_percent: Double?
        var mem_total_bytes: Int64?
        var mem_available_bytes: Int64?
        var disk_total_bytes: Int64?
        var disk_free_bytes: Int64?
        var temperature_c: Double?
        var temperatures: String?
        var local_model: String?
    }

    private static let columns = """
        node_id text, received_at float8, sequence int8, agent_version text, arch text, kernel text, uptime_seconds float8,
        load_1m float8, load_5m float8, load_15m float8, cpu_percent float8, mem_total_bytes int8, mem_available_bytes int8,
        disk_total_bytes int8, disk_free_bytes int8, temperature_c float8, temperatures text, local_model text
        """

    var heartbeatCommit: BatchCommit<HeartbeatEntry> {
        .async { [self] batch in try await writeHeartbeats(batch) }
    }

    /// Commits a batch in one transaction: every heartbeat appended, each node's newest upserted.
    func writeHeartbeats(_ batch: [HeartbeatEntry]) async throws(CoordinatorError) {
        var rows: [Row] = []
        rows.reserveCapacity(batch.count)
        var newest: [String: Int] = [:]
        for entry in batch {
            let r = entry.readings
            rows.append(Row(
                node_id: entry.nodeID, received_at: entry.receivedAt.timeIntervalSince1970, sequence: r.sequence, agent_version: r.agentVersion,
                arch: r.arch, kernel: r.kernel, uptime_seconds: r.uptimeSeconds, load_1m: r.load1m, load_5m: r.load5m, load_15m: r.load15m,
                cpu_percent: r.cpuPercent, mem_total_bytes: r.memTotalBytes, mem_available_bytes: r.memAvailableBytes,
                disk_total_bytes: r.diskTotalBytes, disk_free_bytes: r.diskFreeBytes, temperature_c: r.maxTemperatureCelsius,
                temperatures: r.temperatures.map(HeartbeatJSON.temperatures), local_model: r.localModel))
            // One upsert per node per batch (a statement may not touch a row twice): its newest,
            // the last one queued (entries are stamped and queued in time order).
            newest[entry.nodeID] = rows.count - 1
        }
        let latest = newest.values.sorted().map { rows[$0] }.sorted { $0.node_id < $1.node_id }
        let all: ByteBuffer
        let states: ByteBuffer
        do {
            all = ByteBuffer(bytes: try JSONEncoder().encode(rows))
            states = ByteBuffer(bytes: try JSONEncoder().encode(latest))
        } catch {
            throw .internal("heartbeats could not be encoded: \(error)")
        }
        let logger = logger
        try await database.transaction { connection in
            try await connection.execute("""
                INSERT INTO heartbeats (node_id, received_at, cpu_percent, load_1m, mem_available_bytes, disk_free_bytes, temperature_c, uptime_seconds)
                SELECT node_id, received_at, cpu_percent, load_1m, mem_available_bytes, disk_free_bytes, temperature_c, uptime_seconds
                FROM jsonb_to_recordset(convert_from(\(all), 'UTF8')::jsonb) AS x(\(unescaped: Self.columns))
                """, logger)
            try await connection.execute("""
                INSERT INTO node_state (node_id, last_seen, sequence, agent_version, arch, kernel, uptime_seconds,
                    load_1m, load_5m, load_15m, cpu_percent, mem_total_bytes, mem_available_bytes,
                    disk_total_bytes, disk_free_bytes, temperature_c, temperatures, local_model)
                SELECT * FROM jsonb_to_recordset(convert_from(\(states), 'UTF8')::jsonb) AS x(\(unescaped: Self.columns))
                ON CONFLICT (node_id) DO UPDATE SET
                    last_seen = excluded.last_seen, sequence = excluded.sequence,
                    agent_version = excluded.agent_version, arch = excluded.arch, kernel = excluded.kernel,
                    uptime_seconds = excluded.uptime_seconds, load_1m = excluded.load_1m,
                    load_5m = excluded.load_5m, load_15m = excluded.load_15m, cpu_percent = excluded.cpu_percent,
                    mem_total_bytes = excluded.mem_total_bytes, mem_available_bytes = excluded.mem_available_bytes,
                    disk_total_bytes = excluded.disk_total_bytes, disk_free_bytes = excluded.disk_free_bytes,
                    temperature_c = excluded.temperature_c, temperatures = excluded.temperatures,
                    local_model = excluded.local_model
                WHERE excluded.last_seen >= node_state.last_seen
                """, logger)
        }
    }

    func pruneHeartbeats(before cutoff: Date) async throws(CoordinatorError) -> Int {
        var removed = 0
        while true {
            let rows = try await database.rows("""
                WITH gone AS (
                    DELETE FROM heartbeats WHERE ctid IN (SELECT ctid FROM heartbeats WHERE received_at < \(cutoff.timeIntervalSince1970) LIMIT 50000)
                    RETURNING 1)
                SELECT count(*) AS n FROM gone
                """)
            let deleted = try Self.decoded { () throws -> Int64 in try rows.first?.get("n") ?? 0 }
            removed += Int(deleted)
            if deleted == 0 { return removed }
        }
    }

    /// Heartbeats received this long ago or more are summarised; newer ones stay raw, so a
    /// batch another coordinator is still committing is never skipped by the cursor.
    static let rollupLag: TimeInterval = 30
    static let rollupCursorKey = "heartbeat_rollup_until"

    func rollUpHeartbeats(maxRows: Int64) async throws(CoordinatorError) -> Int64 {
        let logger = logger
        let safe = Date().timeIntervalSince1970 - Self.rollupLag
        return try await database.transaction { connection -> Int64 in
            // One roll-up at a time across coordinators (the leader's normally; this guards a handover).
            try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock + 1))", logger)
            let cursor = try await Self.rollupCursor(connection, logger)
            guard cursor < safe else { return 0 }
            let nth = try await connection.rows("""
                SELECT received_at FROM heartbeats WHERE received_at > \(cursor) AND received_at <= \(safe)
                ORDER BY received_at OFFSET \(maxRows - 1) LIMIT 1
                """, logger)
            let upTo = try nth.first.map { try $0.get("received_at", as: Double.self) } ?? safe
            let counted = try await connection.rows("""
                WITH batch AS (
                    SELECT * FROM heartbeats WHERE received_at > \(cursor) AND received_at <= \(upTo)
                ), summed AS (
                    INSERT INTO heartbeat_minutes
                    SELECT node_id, floor(received_at / 60)::bigint, count(*), COALESCE(sum(cpu_percent), 0), count(cpu_percent), max(cpu_percent),
                           min(mem_available_bytes), min(disk_free_bytes),
                           COALESCE(sum(temperature_c), 0), count(temperature_c), max(temperature_c)
                    FROM batch GROUP BY 1, 2 ORDER BY 1, 2
                    ON CONFLICT (node_id, minute) DO UPDATE SET
                        samples = heartbeat_minutes.samples + excluded.samples,
                        cpu_sum = heartbeat_minutes.cpu_sum + excluded.cpu_sum, cpu_count = heartbeat_minutes.cpu_count + excluded.cpu_count,
                        cpu_max = GREATEST(heartbeat_minutes.cpu_max, excluded.cpu_max),
                        mem_available_min = LEAST(heartbeat_minutes.mem_available_min, excluded.mem_available_min),
                        disk_free_min = LEAST(heartbeat_minutes.disk_free_min, excluded.disk_free_min),
                        temperature_sum = heartbeat_minutes.temperature_sum + excluded.temperature_sum,
                        temperature_count = heartbeat_minutes.temperature_count + excluded.temperature_count,
                        temperature_max = GREATEST(heartbeat_minutes.temperature_max, excluded.temperature_max)
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM batch) AS n
                """, logger)
            let read = try counted.first?.get("n", as: Int64.self) ?? 0
            try await connection.execute("""
                INSERT INTO settings (key, value) VALUES (\(Self.rollupCursorKey), convert_to(\(String(upTo)), 'UTF8'))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, logger)
            return read
        }
    }

    static func rollupCursor(_ connection: PostgresConnection, _ logger: Logger) async throws -> Double {
        let rows = try await connection.rows("SELECT convert_from(value, 'UTF8') AS v FROM settings WHERE key = \(rollupCursorKey)", logger)
        return try rows.first.flatMap { Double(try $0.get("v", as: String.self)) } ?? 0
    }

    func pruneHeartbeatMinutes(before cutoff: Date) async throws(CoordinatorError) {
        try await database.execute("DELETE FROM heartbeat_minutes WHERE minute < \(Int64(cutoff.timeIntervalSince1970 / 60))")
    }

    func readings(nodeID: String, from: Date, to: Date, points: Int) async throws(CoordinatorError) -> [ReadingPoint] {
        let first = Int64(from.timeIntervalSince1970 / 60)
        let last = Int64(to.timeIntervalSince1970 / 60)
        let width = max(1, (last - first + 1 + Int64(points) - 1) / Int64(points))
        let logger = logger
        return try await database.transaction { connection -> [ReadingPoint] in
            let cursor = try await Self.rollupCursor(connection, logger)
            return try await connection.rows("""
                SELECT minute / \(width) AS bucket, sum(samples)::bigint AS samples,
                       CASE WHEN sum(cpu_count) > 0 THEN sum(cpu_sum) / sum(cpu_count) END AS cpu, max(cpu_max) AS cpu_max,
                       min(mem_available_min) AS mem, min(disk_free_min) AS disk,
                       CASE WHEN sum(temperature_count) > 0 THEN sum(temperature_sum) / sum(temperature_count) END AS temperature
                FROM (
                    SELECT minute, samples, cpu_sum, cpu_count, cpu_max, mem_available_min, disk_free_min, temperature_sum, temperature_count
                    FROM heartbeat_minutes WHERE node_id = \(nodeID) AND minute BETWEEN \(first) AND \(last)
                    UNION ALL
                    SELECT floor(received_at / 60)::bigint, 1, COALESCE(cpu_percent, 0), (cpu_percent IS NOT NULL)::int, cpu_percent,
                           mem_available_bytes, disk_free_bytes, COALESCE(temperature_c, 0), (temperature_c IS NOT NULL)::int
                    FROM heartbeats WHERE received_at > \(cursor) AND node_id = \(nodeID)
                      AND received_at >= \(Double(first * 60)) AND received_at < \(Double((last + 1) * 60))
                ) points GROUP BY bucket ORDER BY bucket
                """, logger).map { row in
                ReadingPoint(at: Date(timeIntervalSince1970: Double(try row.get("bucket", as: Int64.self) * width * 60)),
                             cpuPercent: try row.get("cpu"), cpuMax: try row.get("cpu_max"), memAvailableBytes: try row.get("mem"),
                             diskFreeBytes: try row.get("disk"), temperatureC: try row.get("temperature"),
                             samples: Int(try row.get("samples", as: Int64.self)))
            }
        }
    }

    func heartbeatCount(nodeID: String) async throws(CoordinatorError) -> Int {
        let rows = try await database.rows("SELECT count(*) AS n FROM heartbeats WHERE node_id = \(nodeID)")
        return try Self.decoded { () throws -> Int in Int(try rows.first?.get("n", as: Int64.self) ?? 0) }
    }
}
