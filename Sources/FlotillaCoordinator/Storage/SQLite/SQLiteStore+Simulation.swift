import FlotillaProtocol
import Foundation
import GRDB

/// A simulated fleet written straight into a stopped coordinator's database, for the dashboard
/// benchmark (`flotilla bench dashboard`): enrolling 10,000 boards through the API would measure
/// enrollment, not the pages.
extension SQLiteStore {
    /// Inserts `nodes` active nodes over `groups` groups, each with a latest state seen within
    /// the last 10 minutes, a heartbeat per minute for the last `heartbeatMinutes` minutes, and
    /// gateway spend for today and the 29 days before on two models. Returns the node names.
    @discardableResult
    package func seedSimulatedFleet(nodes: Int, groups: Int, heartbeatMinutes: Int, now: Date = Date()) throws -> [String] {
        var generator = SystemRandomNumberGenerator()
        var names: [String] = []
        try pool.write { db in
            let nowSeconds = now.timeIntervalSince1970
            for index in 0..<nodes {
                let id = UUID().uuidString.lowercased()
                let name = String(format: "sim-%05d", index + 1)
                let group = "group-\(index % max(1, groups) + 1)"
                names.append(name)
                try db.cachedStatement(sql: """
                    INSERT INTO nodes (id, name, group_name, admin_state, enrolled_at, token_id, certificate_expires_at, state_changed_at)
                    VALUES (?, ?, ?, 'active', ?, NULL, ?, ?)
                    """).execute(arguments: [id, name, group, nowSeconds - 86_400, nowSeconds + 30 * 86_400, nowSeconds - 86_400])
                let cpu = Double.random(in: 1...95, using: &generator)
                try db.cachedStatement(sql: """
                    INSERT INTO node_state (node_id, last_seen, sequence, agent_version, arch, kernel, uptime_seconds, load_1m, load_5m, load_15m,
                                            cpu_percent, mem_total_bytes, mem_available_bytes, disk_total_bytes, disk_free_bytes, temperature_c, temperatures)
                    VALUES (?, ?, 1, '0.1.0', 'riscv64', '6.6', 86400, 0.5, 0.4, 0.3, ?, 1073741824, ?, 8589934592, ?, ?, '[]')
                    """).execute(arguments: [id, nowSeconds - Double.random(in: 0...600, using: &generator), cpu,
                                     Int64.random(in: 100_000_000...900_000_000, using: &generator),
                                     Int64.random(in: 1_000_000_000...7_000_000_000, using: &generator), Double.random(in: 35...80, using: &generator)])
                for minute in stride(from: heartbeatMinutes, to: 0, by: -1) {
                    try db.cachedStatement(sql: """
                        INSERT INTO heartbeats (node_id, received_at, cpu_percent, load_1m, mem_available_bytes, disk_free_bytes, temperature_c, uptime_seconds)
                        VALUES (?, ?, ?, 0.5, ?, 4000000000, ?, 86400)
                        """).execute(arguments: [id, nowSeconds - Double(minute * 60), Double.random(in: 1...95, using: &generator),
                                         Int64.random(in: 100_000_000...900_000_000, using: &generator), Double.random(in: 35...80, using: &generator)])
                }
                for dayOffset in 0..<30 {
                    let day = UTCCalendar.day(now.addingTimeInterval(-Double(dayOffset) * 86_400))
                    for (model, provider) in [("fleet-default", "openai"), ("claude", "claude")] {
                        let calls = Int.random(in: 0...40, using: &generator)
                        try db.cachedStatement(sql: """
                            INSERT INTO usage_daily (day, node_id, group_name, provider, model, calls, refused, failed, input_tokens, output_tokens, cached_tokens, cost_nanos)
                            VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0, ?)
                            """).execute(arguments: [day, id, group, provider, model, calls, calls * 300, calls * 80, Int64(calls) * 90_000])
                    }
                }
            }
        }
        return names
    }
}
