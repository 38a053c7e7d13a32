import FlotillaProtocol
import Foundation
import NIOCore
import PostgresNIO

/// Rollouts on PostgreSQL. Starting a wave is a compare-and-set on the group's wave count, so
/// a wave is started once even if two coordinators decide to start it (a leader's handover).
extension PostgresStore {
    func rolloutVersions(states: [RolloutState]) async throws(CoordinatorError) -> [Int64] {
        try await versions("SELECT version FROM rollouts WHERE state = ANY(\(states.map(\.rawValue))::text[]) ORDER BY version")
    }

    func activeRolloutVersions() async throws(CoordinatorError) -> [Int64] {
        try await versions("SELECT version FROM rollouts WHERE state IN ('running', 'paused') ORDER BY version DESC LIMIT 50")
    }

    func allRolloutVersions(limit: Int) async throws(CoordinatorError) -> [Int64] {
        try await versions("SELECT version FROM rollouts ORDER BY version DESC LIMIT \(Int64(limit))")
    }

    private func versions(_ query: PostgresQuery) async throws(CoordinatorError) -> [Int64] {
        try await Self.decoded { () async throws -> [Int64] in try await database.rows(query).map { try $0.get("version") } }
    }

    func rolloutGroups(version: Int64) async throws(CoordinatorError) -> [RolloutGroupProgress] {
        try await Self.decoded { () async throws -> [RolloutGroupProgress] in
            try await database.rows("SELECT * FROM rollout_groups WHERE version = \(version) ORDER BY group_name").map { row in
                RolloutGroupProgress(
                    version: try row.get("version"), group: try row.get("group_name"),
                    policy: try JSONDecoder().decode(RolloutPolicy.self, from: try row.get("policy", as: Data.self)),
                    waves: Int(try row.get("waves", as: Int64.self)), wavesStarted: Int(try row.get("waves_started", as: Int64.self)),
                    waveStartedAt: try row.get("wave_started_at", as: Double?.self).map { Date(timeIntervalSince1970: $0) },
                    failureBaseline: Int(try row.get("failure_baseline", as: Int64.self))
                )
            }
        }
    }

    func targetCounts(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [TargetCount] {
        try await Self.decoded { () async throws -> [TargetCount] in
            try await database.rows("""
                SELECT t.group_name, t.wave, t.status, COALESCE(s.last_seen >= \(onlineSince.timeIntervalSince1970), false) AS online, count(*) AS n
                FROM rollout_targets t LEFT JOIN node_state s ON s.node_id = t.node_id
                WHERE t.version = \(version) GROUP BY 1, 2, 3, 4
                """).map { row in
                TargetCount(group: try row.get("group_name"), wave: Int(try row.get("wave", as: Int64.self)), status: try row.get("status"),
                            online: try row.get("online"), count: Int(try row.get("n", as: Int64.self)))
            }
        }
    }

    func startWave(version: Int64, group: String, wave: Int, now: Date) async throws(CoordinatorError) -> [String] {
        let logger = logger
        let at = now.timeIntervalSince1970
        return try await database.transaction { connection -> [String] in
            let claimed = try await connection.rows("""
                UPDATE rollout_groups SET waves_started = \(Int64(wave + 1)), wave_started_at = \(at)
                WHERE version = \(version) AND group_name = \(group) AND waves_started = \(Int64(wave)) RETURNING 1
                """, logger)
            guard !claimed.isEmpty else { return [] }
            let nodes: [String] = try await connection.rows("""
                UPDATE rollout_targets SET status = 'pending', updated_at = \(at)
                WHERE version = \(version) AND group_name = \(group) AND wave = \(Int64(wave)) AND status = 'waiting'
                RETURNING node_id
                """, logger).map { try $0.get("node_id") }
            try await Self.assign(connection, nodes: nodes, version: version, group: group, now: at, logger)
            return nodes
        }
    }

    func setRolloutState(version: Int64, to state: RolloutState, reason: String?, from: [RolloutState]) async throws(CoordinatorError) -> Bool {
        let logger = logger
        return try await database.transaction { connection -> Bool in
            let changed = try await !connection.rows("""
                UPDATE rollouts SET state = \(state.rawValue), reason = \(reason)
                WHERE version = \(version) AND state = ANY(\(from.map(\.rawValue))::text[]) RETURNING 1
                """, logger).isEmpty
            if changed && state == .aborted {
                try await connection.execute("UPDATE rollout_targets SET status = 'aborted' WHERE version = \(version) AND status = 'waiting'", logger)
                try await connection.execute("UPDATE rollout_groups SET waves_started = waves WHERE version = \(version)", logger)
            }
            if changed && state == .running {
                try await connection.execute("""
                    UPDATE rollout_groups g SET failure_baseline = (
                      SELECT count(*) FROM rollout_targets t WHERE t.version = g.version
                        AND t.group_name = g.group_name AND t.status IN ('failed', 'rolled_back'))
                    WHERE g.version = \(version)
                    """, logger)
            }
            return changed
        }
    }

    func rolloutState(version: Int64) async throws(CoordinatorError) -> (state: RolloutState, reason: String?, createdAt: Date)? {
        let rows = try await database.rows("SELECT state, reason, created_at FROM rollouts WHERE version = \(version)")
        return try Self.decoded { () throws -> (state: RolloutState, reason: String?, createdAt: Date)? in
            try rows.first.map { row in
                (RolloutState(rawValue: try row.get("state")) ?? .aborted, try row.get("reason"), Date(timeIntervalSince1970: try row.get("created_at")))
            }
        }
    }

    func rolloutNodes(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [RolloutNodeView] {
        try await Self.decoded { () async throws -> [RolloutNodeView] in
            try await database.rows("""
                SELECT n.name, t.group_name, t.wave, t.status, t.error_code, t.message,
                       COALESCE(s.last_seen >= \(onlineSince.timeIntervalSince1970), false) AS online
                FROM rollout_targets t JOIN nodes n ON n.id = t.node_id LEFT JOIN node_state s ON s.node_id = t.node_id
                WHERE t.version = \(version) ORDER BY t.wave, n.name
                """).map { row in
                RolloutNodeView(name: try row.get("name"), group: try row.get("group_name"), wave: Int(try row.get("wave", as: Int64.self)),
                                status: try row.get("status"), errorCode: try row.get("error_code"), message: try row.get("message"),
                                online: try row.get("online"))
            }
        }
    }

    func nodesSeen(since: Date) async throws(CoordinatorError) -> Set<String> {
        try await Self.decoded { () async throws -> Set<String> in
            Set(try await database.rows("SELECT node_id FROM node_state WHERE last_seen >= \(since.timeIntervalSince1970)").map { try $0.get("node_id") })
        }
    }

    func releaseHistory(nodeID: String, limit: Int) async throws(CoordinatorError) -> [NodeReleaseEntry] {
        try await Self.decoded { () async throws -> [NodeReleaseEntry] in
            try await database.rows("""
                SELECT version, group_name, status, error_code, message, updated_at FROM rollout_targets
                WHERE node_id = \(nodeID) ORDER BY version DESC LIMIT \(Int64(limit))
                """).map { row in
                NodeReleaseEntry(version: try row.get("version"), group: try row.get("group_name"), status: try row.get("status"),
                                 errorCode: try row.get("error_code"), message: try row.get("message"),
                                 updatedAt: Date(timeIntervalSince1970: try row.get("updated_at")))
            }
        }
    }
}
