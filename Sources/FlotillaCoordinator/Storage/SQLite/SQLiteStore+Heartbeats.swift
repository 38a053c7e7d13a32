import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// Commits a batch of heartbeats in one transaction: the latest state per node is upserted
    /// and every heartbeat is appended to the time series.
    func writeHeartbeats(_ batch: [HeartbeatEntry]) throws {
        try pool.write { db in try writeHeartbeatsInTransaction(db, batch) }
    }

    /// On the writer's own thread: a local commit blocks for its fsync.
    var heartbeatCommit: BatchCommit<HeartbeatEntry> {
        .blocking { [self] batch in try writeHeartbeats(batch) }
    }

    /// The body of ``writeHeartbeats(_:)``, for callers that already hold a write transaction.
    func writeHeartbeatsInTransaction(_ db: Database, _ batch: [HeartbeatEntry]) throws {
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO node_state (node_id, last_seen, sequence, agent_version, arch, kernel, uptime_seconds,
                    load_1m, load_5m, load_15m, cpu_percent, mem_total_bytes, mem_available_bytes,
                    disk_total_bytes, disk_free_bytes, temperature_c, temperatures, local_model)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(node_id) DO UPDATE SET
                    last_seen = excluded.last_seen, sequence = excluded.sequence,
                    agent_version = excluded.agent_version, arch = excluded.arch, kernel = excluded.kernel,
                    uptime_seconds = excluded.uptime_seconds, load_1m = excluded.load_1m,
                    load_5m = excluded.load_5m, load_15m = excluded.load_15m, cpu_percent = excluded.cpu_percent,
                    mem_total_bytes = excluded.mem_total_bytes, mem_available_bytes = excluded.mem_available_bytes,
                    disk_total_bytes = excluded.disk_total_bytes, disk_free_bytes = excluded.disk_free_bytes,
                    temperature_c = excluded.temperature_c, temperatures = excluded.temperatures,
                    local_model = excluded.local_model
                WHERE excluded.last_seen >= node_state.last_seen
                """
        )
        let append = try db.cachedStatement(
            sql: """
                INSERT INTO heartbeats (node_id, received_at, cpu_percent, load_1m, mem_available_bytes,
                    disk_free_bytes, temperature_c, uptime_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        for entry in batch {
            let r = entry.readings
            let at = entry.receivedAt.timeIntervalSince1970
            let temperature = r.maxTemperatureCelsius
            var state = SQLiteBinder(upsert)
            state.bind(entry.nodeID)
            state.bind(at)
            state.bind(r.sequence)
            state.bind(r.agentVersion)
            state.bind(r.arch)
            state.bind(r.kernel)
            for value in [r.uptimeSeconds, r.load1m, r.load5m, r.load15m, r.cpuPercent] { state.bind(value) }
            for value in [r.memTotalBytes, r.memAvailableBytes, r.diskTotalBytes, r.diskFreeBytes] { state.bind(value) }
            state.bind(temperature)
            state.bind(r.temperatures.map(HeartbeatJSON.temperatures))
            state.bind(r.localModel)
            try state.execute(in: db)

            var sample = SQLiteBinder(append)
            sample.bind(entry.nodeID)
            sample.bind(at)
            sample.bind(r.cpuPercent)
            sample.bind(r.load1m)
            sample.bind(r.memAvailableBytes)
            sample.bind(r.diskFreeBytes)
            sample.bind(temperature)
            sample.bind(r.uptimeSeconds)
            try sample.execute(in: db)
        }
    }

    /// Deletes time-series heartbeats older than `cutoff`, in chunks so heartbeat commits are not
    /// held up; returns how many were removed. The latest state per node is kept regardless.
    @discardableResult
    func pruneHeartbeats(before cutoff: Date) async throws(CoordinatorError) -> Int {
        try pruneHeartbeats(before: cutoff, chunk: 50_000)
    }

    func pruneHeartbeats(before cutoff: Date, chunk: Int64) throws(CoordinatorError) -> Int {
        let boundary = try read { db in try Self.firstRowID(db, atOrAfter: cutoff) }
        var removed = 0
        while true {
            let deleted = try write { db in
                try db.execute(
                    sql: "DELETE FROM heartbeats WHERE rowid < ? AND rowid < (SELECT MIN(rowid) FROM heartbeats) + ?",
                    arguments: [boundary, chunk]
                )
                return db.changesCount
            }
            removed += deleted
            if deleted == 0 { return removed }
        }
    }

    /// The first rowid whose heartbeat was received at or after `time` (one past the last row if
    /// none). The time series has no index on time: rows are appended in arrival order, so
    /// `received_at` does not decrease with rowid and a binary search over rowids finds the
    /// boundary in O(log n) primary-key lookups.
    static func firstRowID(_ db: Database, atOrAfter time: Date) throws -> Int64 {
        let target = time.timeIntervalSince1970
        guard let bounds = try Row.fetchOne(db, sql: "SELECT MIN(rowid) AS lo, MAX(rowid) AS hi FROM heartbeats"),
            var low = bounds["lo"] as Int64?, let highest = bounds["hi"] as Int64?
        else { return 0 }
        var high = highest + 1
        while low < high {
            let mid = low + (high - low) / 2
            // The first row at or after `mid` (rowids can have gaps after deletes).
            guard let row = try Row.fetchOne(
                db, sql: "SELECT rowid AS id, received_at FROM heartbeats WHERE rowid >= ? ORDER BY rowid LIMIT 1", arguments: [mid]
            ) else {
                high = mid
                continue
            }
            if (row["received_at"] as Double) < target {
                low = (row["id"] as Int64) + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// Number of time-series rows for `nodeID` (tests and diagnostics; a full scan).
    func heartbeatCount(nodeID: String) async throws(CoordinatorError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats WHERE node_id = ?", arguments: [nodeID]) ?? 0
        }
    }

    /// The fleet view: every node (optionally of one group) with its latest state.
    func nodeViews(group: String?, name: String?, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [NodeView] {
        let decoder = JSONDecoder()
        return try read { db in
            var sql = """
                SELECT n.*, s.*, r.reported_version AS release_version, r.status AS release_status,
                       r.error_code AS release_error
                FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id LEFT JOIN node_releases r ON r.node_id = n.id
                """
            var clauses: [String] = []
            var arguments: StatementArguments = []
            if let group {
                clauses.append("n.group_name = ?")
                arguments += [group]
            }
            if let name {
                clauses.append("n.name = ?")
                arguments += [name]
            }
            if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
            sql += " ORDER BY n.group_name, n.name"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                Self.nodeView(row, decoder: decoder, now: now, interval: interval)
            }
        }
    }

    /// A row of `nodes n LEFT JOIN node_state s LEFT JOIN node_releases r` (release columns
    /// named `release_version`, `release_status`, `release_error`) as the admin API's node view.
    static func nodeView(_ row: Row, decoder: JSONDecoder, now: Date, interval: TimeInterval) -> NodeView {
        let node = NodeRecord(row: row)
        let lastSeen = (row["last_seen"] as Double?).map { Date(timeIntervalSince1970: $0) }
        let temperatures = (row["temperatures"] as String?).flatMap {
            try? decoder.decode([TemperatureReading].self, from: Data($0.utf8))
        }
        return NodeView(
            id: node.id, name: node.name, group: node.group,
            status: NodeStatusRule.status(adminState: node.adminState, lastSeen: lastSeen, now: now, interval: interval),
            enrolledAt: Timestamps.rfc3339(node.enrolledAt), lastSeen: lastSeen.map(Timestamps.rfc3339),
            arch: row["arch"], agentVersion: row["agent_version"], kernel: row["kernel"],
            uptimeSeconds: row["uptime_seconds"], load1m: row["load_1m"], load5m: row["load_5m"],
            load15m: row["load_15m"], cpuPercent: row["cpu_percent"], memTotalBytes: row["mem_total_bytes"],
            memAvailableBytes: row["mem_available_bytes"], diskTotalBytes: row["disk_total_bytes"],
            diskFreeBytes: row["disk_free_bytes"], temperatureC: row["temperature_c"],
            temperatures: temperatures ?? [],
            certificateExpiresAt: Timestamps.rfc3339(node.certificateExpiresAt),
            releaseVersion: row["release_version"], releaseStatus: row["release_status"],
            releaseError: row["release_error"], localModel: row["local_model"]
        )
    }
}

extension SQLiteStore {
    /// Rows in the heartbeat time series (benchmarks check acknowledged heartbeats against it).
    package func totalHeartbeats() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats") ?? 0 }
    }

    /// Rows in the heartbeat time series per node name (the heartbeat benchmark's kill -9 mode
    /// checks each node's acknowledged heartbeats against them).
    package func heartbeatCountsByNodeName() throws -> [String: Int] {
        try pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT n.name, COUNT(*) AS count FROM heartbeats h JOIN nodes n ON n.id = h.node_id GROUP BY n.name") {
        counts[row["name"]] = row["count"]
            }
            return counts
        }
    }

    /// Usage records of calls answered 200 (the gateway benchmark checks acknowledged calls against them).
    package func answeredUsageRecords() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage WHERE status = 200") ?? 0 }
    }

    /// The gateway's own times of the calls recorded in `[from, to]`: arrival to the provider's
    /// first byte, and arrival to the answer complete (before its record was committed), in ms.
    /// The gateway benchmark splits the latency it adds with them.
    package func usageTimings(from: Date, to: Date) throws -> [(ttfbMs: Double?, latencyMs: Double)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT ttfb_ms, latency_ms FROM usage WHERE at BETWEEN ? AND ?",
                             arguments: [from.timeIntervalSince1970, to.timeIntervalSince1970])
                .map { (ttfbMs: $0["ttfb_ms"], latencyMs: $0["latency_ms"]) }
        }
    }
}
