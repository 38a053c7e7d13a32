import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Trust

    func rootDocuments() async throws(CoordinatorError) -> [Data] {
        try read { db in try Data.fetchAll(db, sql: "SELECT envelope FROM root_documents ORDER BY version") }
    }

    func appendRootDocument(version: Int64, envelope: Data, now: Date, sealedKeys: [String: [UInt8]]) async throws(CoordinatorError) {
        try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM root_documents WHERE version = ?", arguments: [version]) == true {
                throw CoordinatorError(.conflict, "root document \(version) was appended meanwhile; retry")
            }
            try db.execute(sql: "INSERT INTO root_documents (version, envelope, created_at) VALUES (?, ?, ?)",
                           arguments: [version, envelope, now.timeIntervalSince1970])
            for (name, sealed) in sealedKeys {
                if sealed.isEmpty {
                    try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [name])
                } else {
                    try db.execute(sql: "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                   arguments: [name, Data(sealed)])
                }
            }
        }
    }

    // MARK: Releases

    /// The newest release of every group.
    func latestReleases() async throws(CoordinatorError) -> [String: StoredRelease] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.* FROM releases r
                JOIN (SELECT group_name, MAX(version) AS version FROM releases GROUP BY group_name) latest
                  ON latest.group_name = r.group_name AND latest.version = r.version
                """)
            var result: [String: StoredRelease] = [:]
            for row in rows {
                let release = try Self.storedRelease(row)
                result[release.group] = release
            }
            return result
        }
    }

    /// A group's releases, newest first.
    func releases(group: String) async throws(CoordinatorError) -> [StoredRelease] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM releases WHERE group_name = ? ORDER BY version DESC", arguments: [group])
                .map(Self.storedRelease)
        }
    }

    /// One group's release of `version`.
    func release(version: Int64, group: String) async throws(CoordinatorError) -> StoredRelease? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM releases WHERE version = ? AND group_name = ?", arguments: [version, group])
                .map(Self.storedRelease)
        }
    }

    private static func storedRelease(_ row: Row) throws -> StoredRelease {
        let spec = try JSONDecoder().decode(PublishGroup.self, from: row["spec"] as Data)
        return StoredRelease(version: row["version"], group: row["group_name"], spec: spec, envelope: row["envelope"],
                             digest: row["digest"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                             expiresAt: Date(timeIntervalSince1970: row["expires_at"]))
    }

    /// The highest release version so far (0 before the first).
    func maxReleaseVersion() async throws(CoordinatorError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM rollouts") ?? 0 }
    }

    /// Stores a publication: blobs, signed manifests, the rollout with its waves, the first
    /// wave's assignments, and whatever `alsoWrite` adds to the same transaction. Older rollouts of the same groups stop at the wave they reached.
    /// Returns the assignments made (node id → group).
    func storePublication(_ publication: Publication, version expected: Int64, gateway: GatewayChange?)
        async throws(CoordinatorError) -> [String: String]
    {
        try write { db in
            if let gateway { try Self.storeGatewayConfig(db, version: gateway.version, spec: gateway.spec, now: publication.now) }
            let current = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM rollouts") ?? 0
            guard current + 1 == expected else { throw CoordinatorError(.conflict, "another release was published meanwhile; retry") }
            let now = publication.now.timeIntervalSince1970
            try db.execute(sql: "INSERT INTO rollouts (version, state, created_at) VALUES (?, 'running', ?)",
                           arguments: [publication.version, now])
            var assigned: [String: String] = [:]
            let encoder = JSONEncoder()
            for group in publication.groups {
                for blob in group.blobs {
                    try db.execute(sql: "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                                   arguments: [blob.sha256, blob.data.count, blob.data])
                    try db.execute(sql: "INSERT OR IGNORE INTO release_blobs (group_name, sha256) VALUES (?, ?)",
                                   arguments: [group.group, blob.sha256])
                }
                try db.execute(sql: """
                    INSERT INTO releases (version, group_name, envelope, digest, spec, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [publication.version, group.group, group.envelope, group.digest,
                                     try encoder.encode(group.spec), now, group.expiresAt.timeIntervalSince1970])
                // Older rollouts of this group start no further waves; their unreached nodes
                // are this rollout's now.
                try db.execute(sql: """
                    UPDATE rollout_targets SET status = 'superseded', updated_at = ?
                    WHERE group_name = ? AND status = 'waiting' AND version < ?
                    """, arguments: [now, group.group, publication.version])
                try db.execute(sql: "UPDATE rollout_groups SET waves_started = waves WHERE group_name = ? AND version < ?",
                               arguments: [group.group, publication.version])
                try db.execute(sql: """
                    INSERT INTO rollout_groups (version, group_name, policy, waves, waves_started, wave_started_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [publication.version, group.group, try encoder.encode(group.policy),
                                     group.waves.count, group.waves.isEmpty ? 0 : 1, now])
                for (wave, nodes) in group.waves.enumerated() {
                    for node in nodes {
                        try db.execute(sql: """
                            INSERT INTO rollout_targets (version, node_id, group_name, wave, status, updated_at)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """, arguments: [publication.version, node, group.group, wave, wave == 0 ? "pending" : "waiting", now])
                        if wave == 0 {
                            try Self.assign(db, node: node, version: publication.version, group: group.group, now: now)
                            assigned[node] = group.group
                        }
                    }
                }
            }
            try db.execute(sql: """
                UPDATE rollouts SET state = 'superseded', reason = ?
                WHERE version < ? AND state IN ('running', 'paused')
                  AND NOT EXISTS (SELECT 1 FROM rollout_groups g WHERE g.version = rollouts.version AND g.waves_started < g.waves)
                  AND NOT EXISTS (SELECT 1 FROM rollout_targets t WHERE t.version = rollouts.version
                                  AND t.status IN ('pending', 'downloading'))
                """, arguments: ["superseded by release \(publication.version)", publication.version])
            return assigned
        }
    }

    static func assign(_ db: Database, node: String, version: Int64, group: String, now: Double) throws {
        try db.execute(sql: """
            INSERT INTO node_releases (node_id, desired_version, group_name, status, updated_at)
            VALUES (?, ?, ?, 'pending', ?)
            ON CONFLICT(node_id) DO UPDATE SET desired_version = excluded.desired_version,
              group_name = excluded.group_name, status = 'pending', error_code = NULL, message = NULL,
              updated_at = excluded.updated_at
            """, arguments: [node, version, group, now])
    }

    /// Replaces a release's envelope with a re-signed one (same version and content, later
    /// expiry). Returns the nodes assigned that release.
    func replaceEnvelope(version: Int64, group: String, envelope: Data, digest: String, expiresAt: Date) async throws(CoordinatorError) -> [String] {
        try write { db in
            try db.execute(sql: "UPDATE releases SET envelope = ?, digest = ?, expires_at = ? WHERE version = ? AND group_name = ?",
                           arguments: [envelope, digest, expiresAt.timeIntervalSince1970, version, group])
            return try String.fetchAll(db, sql: "SELECT node_id FROM node_releases WHERE desired_version = ? AND group_name = ?",
                                       arguments: [version, group])
        }
    }

    /// A blob's bytes, only if it belongs to a release of `group`.
    func blob(sha256: String, group: String) async throws(CoordinatorError) -> Data? {
        try read { db in
            try Data.fetchOne(db, sql: """
                SELECT b.data FROM blobs b JOIN release_blobs rb ON rb.sha256 = b.sha256
                WHERE b.sha256 = ? AND rb.group_name = ?
                """, arguments: [sha256, group])
        }
    }

    func assignedReleases() async throws(CoordinatorError) -> [String: DesiredRelease] {
        try assigned(where: "", [])
    }

    func assignedReleases(version: Int64, group: String) async throws(CoordinatorError) -> [String: DesiredRelease] {
        try assigned(where: " WHERE n.desired_version = ? AND n.group_name = ?", [version, group])
    }

    private func assigned(where filter: String, _ arguments: StatementArguments) throws(CoordinatorError) -> [String: DesiredRelease] {
        try read { db in
            var result: [String: DesiredRelease] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT n.node_id, r.version, r.group_name, r.envelope, r.digest FROM node_releases n
                JOIN releases r ON r.version = n.desired_version AND r.group_name = n.group_name
                """ + filter, arguments: arguments) {
                result[row["node_id"]] = DesiredRelease(version: row["version"], group: row["group_name"],
                                                        envelope: row["envelope"], digest: row["digest"])
            }
            return result
        }
    }
}
