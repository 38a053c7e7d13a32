import FlotillaProtocol
import Foundation
import GRDB

/// One accepted heartbeat waiting to be committed.
struct HeartbeatEntry: Sendable {
    var nodeID: String
    var receivedAt: Date
    var readings: HeartbeatRequest
}

extension Store {
    /// Commits a batch of heartbeats in one transaction: the latest state per node is upserted
    /// and every heartbeat is appended to the time series.
    func writeHeartbeats(_ batch: [HeartbeatEntry]) throws {
        try pool.write { db in try writeHeartbeatsInTransaction(db, batch) }
    }

    /// The body of ``writeHeartbeats(_:)``, for callers that already hold a write transaction.
    func writeHeartbeatsInTransaction(_ db: Database, _ batch: [HeartbeatEntry]) throws {
        let encoder = JSONEncoder()
        do {
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO node_state (node_id, last_seen, sequence, agent_version, arch, kernel, uptime_seconds,
                        load_1m, load_5m, load_15m, cpu_percent, mem_total_bytes, mem_available_bytes,
                        disk_total_bytes, disk_free_bytes, temperature_c, temperatures)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(node_id) DO UPDATE SET
                        last_seen = excluded.last_seen, sequence = excluded.sequence,
                        agent_version = excluded.agent_version, arch = excluded.arch, kernel = excluded.kernel,
                        uptime_seconds = excluded.uptime_seconds, load_1m = excluded.load_1m,
                        load_5m = excluded.load_5m, load_15m = excluded.load_15m, cpu_percent = excluded.cpu_percent,
                        mem_total_bytes = excluded.mem_total_bytes, mem_available_bytes = excluded.mem_available_bytes,
                        disk_total_bytes = excluded.disk_total_bytes, disk_free_bytes = excluded.disk_free_bytes,
                        temperature_c = excluded.temperature_c, temperatures = excluded.temperatures
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
                let temperatures = try r.temperatures.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
                try upsert.execute(arguments: [
                    entry.nodeID, at, r.sequence, r.agentVersion, r.arch, r.kernel, r.uptimeSeconds,
                    r.load1m, r.load5m, r.load15m, r.cpuPercent, r.memTotalBytes, r.memAvailableBytes,
                    r.diskTotalBytes, r.diskFreeBytes, r.maxTemperatureCelsius, temperatures,
                ])
                try append.execute(arguments: [
                    entry.nodeID, at, r.cpuPercent, r.load1m, r.memAvailableBytes, r.diskFreeBytes,
                    r.maxTemperatureCelsius, r.uptimeSeconds,
                ])
            }
        }
    }

    /// Deletes time-series heartbeats older than `cutoff`; returns how many were removed.
    /// The latest state per node is kept regardless.
    @discardableResult
    func pruneHeartbeats(before cutoff: Date) throws -> Int {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM heartbeats WHERE received_at < ?", arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// Number of time-series rows for `nodeID` (for `node show` and tests).
    func heartbeatCount(nodeID: String) throws(CoordinatorError) -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats WHERE node_id = ?", arguments: [nodeID]) ?? 0
        }
    }

    /// The fleet view: every node (optionally of one group) with its latest state.
    func nodeViews(group: String?, name: String? = nil, now: Date, interval: TimeInterval) throws(CoordinatorError) -> [NodeView] {
        let decoder = JSONDecoder()
        return try read { db in
            var sql = "SELECT n.*, s.* FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id"
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
                    certificateExpiresAt: Timestamps.rfc3339(node.certificateExpiresAt)
                )
            }
        }
    }
}

extension Store {
    /// Rows in the heartbeat time series (benchmarks check acknowledged heartbeats against it).
    package func totalHeartbeats() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats") ?? 0 }
    }
}
