import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// Records node reports in one transaction. A report counts only for the node's assigned
    /// version (or, for a node without one, the group's default release it was served).
    var reportCommit: BatchCommit<QueuedReport> {
        .blocking { [self] reports in try pool.write { db in try recordReportsInTransaction(db, reports) } }
    }

    func recordReportsInTransaction(_ db: Database, _ reports: [QueuedReport]) throws {
        for item in reports {
            let r = item.report
            let at = item.at.timeIntervalSince1970
            try db.execute(sql: """
                UPDATE node_releases SET reported_version = ?, status = ?, error_code = ?, message = ?, updated_at = ?
                WHERE node_id = ? AND desired_version = ?
                """, arguments: [r.version, r.status.rawValue, r.errorCode, r.message, at, item.nodeID, r.version])
            if db.changesCount == 0 {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO node_releases (node_id, desired_version, group_name, reported_version, status, error_code, message, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [item.nodeID, r.version, item.group, r.version, r.status.rawValue, r.errorCode, r.message, at])
            }
            try db.execute(sql: """
                UPDATE rollout_targets SET status = ?, error_code = ?, message = ?, updated_at = ?
                WHERE version = ? AND node_id = ? AND status NOT IN ('waiting', 'superseded', 'aborted')
                """, arguments: [r.status.rawValue, r.errorCode, r.message, at, r.version, item.nodeID])
        }
    }

    /// Rollouts in `states`, oldest first.
    func rolloutVersions(states: [RolloutState]) async throws(CoordinatorError) -> [Int64] {
        try read { db in
            let marks = states.map { _ in "?" }.joined(separator: ",")
            return try Int64.fetchAll(db, sql: "SELECT version FROM rollouts WHERE state IN (\(marks)) ORDER BY version",
                                      arguments: StatementArguments(states.map(\.rawValue)))
        }
    }

    func rolloutGroups(version: Int64) async throws(CoordinatorError) -> [RolloutGroupProgress] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rollout_groups WHERE version = ? ORDER BY group_name", arguments: [version]).map { row in
                RolloutGroupProgress(
                    version: row["version"], group: row["group_name"],
                    policy: try JSONDecoder().decode(RolloutPolicy.self, from: row["policy"] as Data),
                    waves: row["waves"], wavesStarted: row["waves_started"],
                    waveStartedAt: (row["wave_started_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
                    failureBaseline: row["failure_baseline"]
                )
            }
        }
    }

    /// Target counts of a rollout; a node is online when seen since `onlineSince`.
    func targetCounts(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [TargetCount] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT t.group_name, t.wave, t.status, COALESCE(s.last_seen >= ?, 0) AS online, COUNT(*) AS n
                FROM rollout_targets t LEFT JOIN node_state s ON s.node_id = t.node_id
                WHERE t.version = ? GROUP BY 1, 2, 3, 4
                """, arguments: [onlineSince.timeIntervalSince1970, version]).map { row in
                TargetCount(group: row["group_name"], wave: row["wave"], status: row["status"], online: row["online"], count: row["n"])
            }
        }
    }

    /// Starts a wave: its nodes get the release. Returns their ids.
    func startWave(version: Int64, group: String, wave: Int, now: Date) async throws(CoordinatorError) -> [String] {
        try write { db in
            let at = now.timeIntervalSince1970
            let started = try Int.fetchOne(db, sql: "SELECT waves_started FROM rollout_groups WHERE version = ? AND group_name = ?",
                                           arguments: [version, group])
            guard started == wave else { return [] }
            let nodes = try String.fetchAll(db, sql: """
                SELECT node_id FROM rollout_targets WHERE version = ? AND group_name = ? AND wave = ? AND status = 'waiting'
                """, arguments: [version, group, wave])
            try db.execute(sql: """
                UPDATE rollout_targets SET status = 'pending', updated_at = ?
                WHERE version = ? AND group_name = ? AND wave = ? AND status = 'waiting'
                """, arguments: [at, version, group, wave])
            for node in nodes { try Self.assign(db, node: node, version: version, group: group, now: at) }
            try db.execute(sql: """
                UPDATE rollout_groups SET waves_started = ?, wave_started_at = ? WHERE version = ? AND group_name = ?
                """, arguments: [wave + 1, at, version, group])
            return nodes
        }
    }

    /// Sets a rollout's state; with `from`, only when it is currently in one of those states.
    @discardableResult
    func setRolloutState(version: Int64, to state: RolloutState, reason: String?, from: [RolloutState]) async throws(CoordinatorError) -> Bool {
        try write { db in
            let marks = from.map { _ in "?" }.joined(separator: ",")
            var arguments: StatementArguments = [state.rawValue, reason, version]
            arguments += StatementArguments(from.map(\.rawValue))
            try db.execute(sql: "UPDATE rollouts SET state = ?, reason = ? WHERE version = ? AND state IN (\(marks))", arguments: arguments)
            let changed = db.changesCount > 0
            if changed && state == .aborted {
                try db.execute(sql: "UPDATE rollout_targets SET status = 'aborted' WHERE version = ? AND status = 'waiting'", arguments: [version])
                try db.execute(sql: "UPDATE rollout_groups SET waves_started = waves WHERE version = ?", arguments: [version])
            }
            if changed && state == .running {
                try db.execute(sql: """
                    UPDATE rollout_groups SET failure_baseline = (
                      SELECT COUNT(*) FROM rollout_targets t WHERE t.version = rollout_groups.version
                        AND t.group_name = rollout_groups.group_name AND t.status IN ('failed', 'rolled_back'))
                    WHERE version = ?
                    """, arguments: [version])
            }
            return changed
        }
    }

    /// A rollout's state and reason.
    func rolloutState(version: Int64) async throws(CoordinatorError) -> (state: RolloutState, reason: String?, createdAt: Date)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM rollouts WHERE version = ?", arguments: [version]).map { row in
                (RolloutState(rawValue: row["state"]) ?? .aborted, row["reason"], Date(timeIntervalSince1970: row["created_at"]))
            }
        }
    }

    /// Every rollout version, newest first.
    func allRolloutVersions(limit: Int) async throws(CoordinatorError) -> [Int64] {
        try read { db in try Int64.fetchAll(db, sql: "SELECT version FROM rollouts ORDER BY version DESC LIMIT ?", arguments: [limit]) }
    }

    /// Per-node rows of a rollout.
    func rolloutNodes(version: Int64, onlineSince: Date) async throws(CoordinatorError) -> [RolloutNodeView] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT n.name, t.group_name, t.wave, t.status, t.error_code, t.message,
                       COALESCE(s.last_seen >= ?, 0) AS online
                FROM rollout_targets t JOIN nodes n ON n.id = t.node_id LEFT JOIN node_state s ON s.node_id = t.node_id
                WHERE t.version = ? ORDER BY t.wave, n.name
                """, arguments: [onlineSince.timeIntervalSince1970, version]).map { row in
                RolloutNodeView(name: row["name"], group: row["group_name"], wave: row["wave"], status: row["status"],
                                errorCode: row["error_code"], message: row["message"], online: row["online"])
            }
        }
    }

    /// Names of nodes seen since `since` (for ordering canaries: online nodes first).
    func nodesSeen(since: Date) async throws(CoordinatorError) -> Set<String> {
        try read { db in
            Set(try String.fetchAll(db, sql: "SELECT node_id FROM node_state WHERE last_seen >= ?", arguments: [since.timeIntervalSince1970]))
        }
    }
}
