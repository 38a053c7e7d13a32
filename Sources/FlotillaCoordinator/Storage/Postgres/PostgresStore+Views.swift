import FlotillaProtocol
import Foundation
import NIOCore
import PostgresNIO

/// The operator views on PostgreSQL: filters, order and paging in SQL, as on SQLite.
extension PostgresStore {
    /// `NodeStatusRule` over `nodes n LEFT JOIN node_state s`, with its cut-offs bound.
    private static func status(_ sql: inout PostgresSQL, now: Date, interval: TimeInterval) {
        sql.append("""
            (CASE WHEN n.admin_state = 'revoked' THEN 'revoked' WHEN n.admin_state = 'pending' THEN 'pending'
                  WHEN s.last_seen IS NULL THEN 'offline' WHEN s.last_seen >= 
            """)
        sql.bind(now.timeIntervalSince1970 - 2 * interval)
        sql.append(" THEN 'online' WHEN s.last_seen >= ")
        sql.bind(now.timeIntervalSince1970 - 10 * interval)
        sql.append(" THEN 'stale' ELSE 'offline' END)")
    }

    private static let viewColumns = """
        n.id, n.name, n.group_name, n.admin_state, n.enrolled_at, n.certificate_expires_at, n.certificate_serial,
        n.pending_certificate_serial, s.last_seen, s.arch, s.agent_version, s.kernel, s.uptime_seconds, s.load_1m, s.load_5m,
        s.load_15m, s.cpu_percent, s.mem_total_bytes, s.mem_available_bytes, s.disk_total_bytes, s.disk_free_bytes,
        s.temperature_c, s.temperatures, s.local_model, r.reported_version AS release_version, r.status AS release_status,
        r.error_code AS release_error
        """
    private static let viewFrom = " FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id LEFT JOIN node_releases r ON r.node_id = n.id"

    func nodeViews(group: String?, name: String?, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [NodeView] {
        var sql = PostgresSQL("SELECT " + Self.viewColumns + Self.viewFrom + " WHERE true")
        if let group {
            sql.append(" AND n.group_name = ")
            sql.bind(group)
        }
        if let name {
            sql.append(" AND n.name = ")
            sql.bind(name)
        }
        sql.append(" ORDER BY n.group_name, n.name")
        let rows = try await database.rows(sql.query)
        return try Self.decoded { () throws -> [NodeView] in try rows.map { try Self.nodeView($0, now: now, interval: interval) } }
    }

    func nodePage(_ query: NodePageQuery, now: Date, interval: TimeInterval) async throws(CoordinatorError) -> (total: Int, nodes: [NodeView]) {
        func filtered(_ head: String) -> PostgresSQL {
            var sql = PostgresSQL(head + Self.viewFrom + " WHERE true")
            if let group = query.group {
                sql.append(" AND n.group_name = ")
                sql.bind(group)
            }
            if let status = query.status {
                sql.append(" AND ")
                Self.status(&sql, now: now, interval: interval)
                sql.append(" = ")
                sql.bind(status.rawValue)
            }
            if let search = query.search, !search.isEmpty {
                sql.append(" AND n.name LIKE ")
                sql.bind("%" + search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%")
                sql.append(" ESCAPE '\\'")
            }
            return sql
        }
        let direction = query.descending ? "DESC" : "ASC"
        var page = filtered("SELECT " + Self.viewColumns)
        page.append(" ORDER BY ")
        switch query.sort {
        case .name: page.append("n.name \(direction)")
        case .group: page.append("n.group_name \(direction), n.name")
        case .status:
            Self.status(&page, now: now, interval: interval)
            page.append(" \(direction), n.name")
        case .lastSeen: page.append("s.last_seen IS NULL, s.last_seen \(direction), n.name")
        case .cpu: page.append("s.cpu_percent IS NULL, s.cpu_percent \(direction), n.name")
        case .temperature: page.append("s.temperature_c IS NULL, s.temperature_c \(direction), n.name")
        case .release: page.append("r.reported_version IS NULL, r.reported_version \(direction), n.name")
        }
        page.append(" LIMIT ")
        page.bind(Int64(query.limit))
        page.append(" OFFSET ")
        page.bind(Int64(query.offset))
        let counted = try await database.rows(filtered("SELECT count(*) AS n").query)
        let rows = try await database.rows(page.query)
        return try Self.decoded { () throws -> (total: Int, nodes: [NodeView]) in
            (Int(try counted.first?.get("n", as: Int64.self) ?? 0), try rows.map { try Self.nodeView($0, now: now, interval: interval) })
        }
    }

    static func nodeView(_ row: PostgresRandomAccessRow, now: Date, interval: TimeInterval) throws -> NodeView {
        let node = try Self.node(row)
        let lastSeen = try row.get("last_seen", as: Double?.self).map { Date(timeIntervalSince1970: $0) }
        let temperatures = try row.get("temperatures", as: String?.self).flatMap {
            try? JSONDecoder().decode([TemperatureReading].self, from: Data($0.utf8))
        }
        return NodeView(
            id: node.id, name: node.name, group: node.group,
            status: NodeStatusRule.status(adminState: node.adminState, lastSeen: lastSeen, now: now, interval: interval),
            enrolledAt: Timestamps.rfc3339(node.enrolledAt), lastSeen: lastSeen.map(Timestamps.rfc3339),
            arch: try row.get("arch"), agentVersion: try row.get("agent_version"), kernel: try row.get("kernel"),
            uptimeSeconds: try row.get("uptime_seconds"), load1m: try row.get("load_1m"), load5m: try row.get("load_5m"),
            load15m: try row.get("load_15m"), cpuPercent: try row.get("cpu_percent"), memTotalBytes: try row.get("mem_total_bytes"),
            memAvailableBytes: try row.get("mem_available_bytes"), diskTotalBytes: try row.get("disk_total_bytes"),
            diskFreeBytes: try row.get("disk_free_bytes"), temperatureC: try row.get("temperature_c"),
            temperatures: temperatures ?? [],
            certificateExpiresAt: Timestamps.rfc3339(node.certificateExpiresAt),
            releaseVersion: try row.get("release_version"), releaseStatus: try row.get("release_status"),
            releaseError: try row.get("release_error"), localModel: try row.get("local_model")
        )
    }

    func nodeStatusCounts(now: Date, interval: TimeInterval) async throws(CoordinatorError) -> [(group: String, status: NodeStatus, count: Int)] {
        var sql = PostgresSQL("SELECT n.group_name, ")
        Self.status(&sql, now: now, interval: interval)
        sql.append(" AS status, count(*) AS n FROM nodes n LEFT JOIN node_state s ON s.node_id = n.id GROUP BY 1, 2 ORDER BY 1, 2")
        let rows = try await database.rows(sql.query)
        return try Self.decoded { () throws -> [(group: String, status: NodeStatus, count: Int)] in
            try rows.compactMap { row in
                guard let status = NodeStatus(rawValue: try row.get("status")) else { return nil }
                return (try row.get("group_name"), status, Int(try row.get("n", as: Int64.self)))
            }
        }
    }

    func rolloutStateCounts() async throws(CoordinatorError) -> [RolloutState: Int] {
        let rows = try await database.rows("SELECT state, count(*) AS n FROM rollouts GROUP BY state")
        return try Self.decoded { () throws -> [RolloutState: Int] in
            var counts: [RolloutState: Int] = [:]
            for row in rows {
                if let state = RolloutState(rawValue: try row.get("state")) { counts[state] = Int(try row.get("n", as: Int64.self)) }
            }
            return counts
        }
    }

    func releaseCount() async throws(CoordinatorError) -> Int {
        let rows = try await database.rows("SELECT count(DISTINCT version) AS n FROM releases")
        return try Self.decoded { () throws -> Int in Int(try rows.first?.get("n", as: Int64.self) ?? 0) }
    }

    func groupNames() async throws(CoordinatorError) -> [String] {
        try await Self.decoded { () async throws -> [String] in
            try await database.rows("SELECT DISTINCT group_name FROM nodes ORDER BY 1").map { try $0.get("group_name") }
        }
    }
}
