import FlotillaProtocol
import Foundation
import NIOCore
import PostgresNIO

/// Root documents, signed releases, blobs and node assignments on PostgreSQL.
extension PostgresStore {
    func rootDocuments() async throws(CoordinatorError) -> [Data] {
        try await Self.decoded { () async throws -> [Data] in
            try await database.rows("SELECT envelope FROM root_documents ORDER BY version").map { try $0.get("envelope", as: Data.self) }
        }
    }

    func appendRootDocument(version: Int64, envelope: Data, now: Date, sealedKeys: [String: [UInt8]]) async throws(CoordinatorError) {
        let logger = logger
        do {
            try await database.transaction { connection in
                try await connection.execute("""
                    INSERT INTO root_documents (version, envelope, created_at)
                    VALUES (\(version), \(ByteBuffer(bytes: envelope)), \(now.timeIntervalSince1970))
                    """, logger)
                for (name, sealed) in sealedKeys.sorted(by: { $0.key < $1.key }) {
                    if sealed.isEmpty {
                        try await connection.execute("DELETE FROM settings WHERE key = \(name)", logger)
                    } else {
                        try await connection.execute("""
                            INSERT INTO settings (key, value) VALUES (\(name), \(ByteBuffer(bytes: sealed)))
                            ON CONFLICT (key) DO UPDATE SET value = excluded.value
                            """, logger)
                    }
                }
            }
        } catch where error.code == .conflict {
            throw CoordinatorError(.conflict, "root document \(version) was appended meanwhile by another coordinator; retry")
        }
    }

    func latestReleases() async throws(CoordinatorError) -> [String: StoredRelease] {
        try await Self.decoded { () async throws -> [String: StoredRelease] in
            var result: [String: StoredRelease] = [:]
            for row in try await database.rows("""
                SELECT DISTINCT ON (group_name) * FROM releases ORDER BY group_name, version DESC
                """) {
                let release = try Self.storedRelease(row)
                result[release.group] = release
            }
            return result
        }
    }

    func releases(group: String) async throws(CoordinatorError) -> [StoredRelease] {
        try await Self.decoded { () async throws -> [StoredRelease] in
            try await database.rows("SELECT * FROM releases WHERE group_name = \(group) ORDER BY version DESC").map(Self.storedRelease)
        }
    }

    func release(version: Int64, group: String) async throws(CoordinatorError) -> StoredRelease? {
        try await Self.decoded { () async throws -> StoredRelease? in
            try await database.rows("SELECT * FROM releases WHERE version = \(version) AND group_name = \(group)").first.map(Self.storedRelease)
        }
    }

    static func storedRelease(_ row: PostgresRandomAccessRow) throws -> StoredRelease {
        let spec = try JSONDecoder().decode(PublishGroup.self, from: try row.get("spec", as: Data.self))
        return StoredRelease(version: try row.get("version"), group: try row.get("group_name"), spec: spec, envelope: try row.get("envelope"),
                             digest: try row.get("digest"), createdAt: Date(timeIntervalSince1970: try row.get("created_at")),
                             expiresAt: Date(timeIntervalSince1970: try row.get("expires_at")))
    }

    func maxReleaseVersion() async throws(CoordinatorError) -> Int64 {
        let rows = try await database.rows("SELECT COALESCE(MAX(version), 0) AS v FROM rollouts")
        return try Self.decoded { () throws -> Int64 in try rows.first?.get("v") ?? 0 }
    }

    /// The publish's rows in one transaction. Its version is the table's next: a publish racing
    /// on another coordinator fails the primary key (`conflict`, nothing stored) and is retried
    /// by the operator, as on SQLite.
    func storePublication(_ publication: Publication, version expected: Int64, gateway: GatewayChange?)
        async throws(CoordinatorError) -> [String: String]
    {
        let logger = logger
        do {
            return try await database.transaction { connection -> [String: String] in
                // Publishes are serialised (two on different coordinators would both see the same
                // previous version); other writers are not held up.
                try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock + 2))", logger)
                if let gateway { try await Self.storeGatewayConfig(connection, gateway, now: publication.now, logger) }
                let current = try await connection.rows("SELECT COALESCE(MAX(version), 0) AS v FROM rollouts", logger).first?.get("v", as: Int64.self) ?? 0
                guard current + 1 == expected else { throw CoordinatorError(.conflict, "another release was published meanwhile; retry") }
                let now = publication.now.timeIntervalSince1970
                try await connection.execute("INSERT INTO rollouts (version, state, created_at) VALUES (\(publication.version), 'running', \(now))", logger)
                var assigned: [String: String] = [:]
                let encoder = JSONEncoder()
                for group in publication.groups {
                    for blob in group.blobs {
                        try await connection.execute("""
                            INSERT INTO blobs (sha256, size, data) VALUES (\(blob.sha256), \(Int64(blob.data.count)), \(ByteBuffer(bytes: blob.data)))
                            ON CONFLICT DO NOTHING
                            """, logger)
                        try await connection.execute(
                            "INSERT INTO release_blobs (group_name, sha256) VALUES (\(group.group), \(blob.sha256)) ON CONFLICT DO NOTHING", logger)
                    }
                    try await connection.execute("""
                        INSERT INTO releases (version, group_name, envelope, digest, spec, created_at, expires_at)
                        VALUES (\(publication.version), \(group.group), \(ByteBuffer(bytes: group.envelope)), \(group.digest),
                                \(ByteBuffer(bytes: try encoder.encode(group.spec))), \(now), \(group.expiresAt.timeIntervalSince1970))
                        """, logger)
                    // Older rollouts of this group start no further waves; their unreached nodes are this rollout's now.
                    try await connection.execute("""
                        UPDATE rollout_targets SET status = 'superseded', updated_at = \(now)
                        WHERE group_name = \(group.group) AND status = 'waiting' AND version < \(publication.version)
                        """, logger)
                    try await connection.execute(
                        "UPDATE rollout_groups SET waves_started = waves WHERE group_name = \(group.group) AND version < \(publication.version)", logger)
                    try await connection.execute("""
                        INSERT INTO rollout_groups (version, group_name, policy, waves, waves_started, wave_started_at)
                        VALUES (\(publication.version), \(group.group), \(ByteBuffer(bytes: try encoder.encode(group.policy))),
                                \(Int64(group.waves.count)), \(Int64(group.waves.isEmpty ? 0 : 1)), \(now))
                        """, logger)
                    var ids: [String] = []
                    var waves: [Int64] = []
                    for (wave, nodes) in group.waves.enumerated() {
                        for node in nodes {
                            ids.append(node)
                            waves.append(Int64(wave))
                            if wave == 0 { assigned[node] = group.group }
                        }
                    }
                    try await connection.execute("""
                        INSERT INTO rollout_targets (version, node_id, group_name, wave, status, updated_at)
                        SELECT \(publication.version), t.node, \(group.group), t.wave, CASE WHEN t.wave = 0 THEN 'pending' ELSE 'waiting' END, \(now)
                        FROM unnest(\(ids)::text[], \(waves)::bigint[]) AS t(node, wave)
                        """, logger)
                    let first = group.waves.first ?? []
                    try await Self.assign(connection, nodes: first, version: publication.version, group: group.group, now: now, logger)
                }
                try await connection.execute("""
                    UPDATE rollouts SET state = 'superseded', reason = \("superseded by release \(publication.version)")
                    WHERE version < \(publication.version) AND state IN ('running', 'paused')
                      AND NOT EXISTS (SELECT 1 FROM rollout_groups g WHERE g.version = rollouts.version AND g.waves_started < g.waves)
                      AND NOT EXISTS (SELECT 1 FROM rollout_targets t WHERE t.version = rollouts.version
                                      AND t.status IN ('pending', 'downloading'))
                    """, logger)
                return assigned
            }
        } catch where error.code == .conflict {
            throw CoordinatorError(.conflict, "another release was published meanwhile; retry")
        }
    }

    /// Makes `version` the release `nodes` should run, pending their report.
    static func assign(_ connection: PostgresConnection, nodes: [String], version: Int64, group: String, now: Double, _ logger: Logger) async throws {
        guard !nodes.isEmpty else { return }
        try await connection.execute("""
            INSERT INTO node_releases (node_id, desired_version, group_name, status, updated_at)
            SELECT node, \(version), \(group), 'pending', \(now) FROM unnest(\(nodes.sorted())::text[]) AS t(node)
            ON CONFLICT (node_id) DO UPDATE SET desired_version = excluded.desired_version,
              group_name = excluded.group_name, status = 'pending', error_code = NULL, message = NULL,
              updated_at = excluded.updated_at
            """, logger)
    }

    func replaceEnvelope(version: Int64, group: String, envelope: Data, digest: String, expiresAt: Date) async throws(CoordinatorError) -> [String] {
        let logger = logger
        return try await database.transaction { connection -> [String] in
            try await connection.execute("""
                UPDATE releases SET envelope = \(ByteBuffer(bytes: envelope)), digest = \(digest), expires_at = \(expiresAt.timeIntervalSince1970)
                WHERE version = \(version) AND group_name = \(group)
                """, logger)
            return try await connection.rows(
                "SELECT node_id FROM node_releases WHERE desired_version = \(version) AND group_name = \(group)", logger).map { try $0.get("node_id") }
        }
    }

    func blob(sha256: String, group: String) async throws(CoordinatorError) -> Data? {
        try await Self.decoded { () async throws -> Data? in
            try await database.rows("""
                SELECT b.data FROM blobs b JOIN release_blobs rb ON rb.sha256 = b.sha256
                WHERE b.sha256 = \(sha256) AND rb.group_name = \(group)
                """).first.map { try $0.get("data", as: Data.self) }
        }
    }

    func assignedReleases() async throws(CoordinatorError) -> [String: DesiredRelease] {
        try await assigned(PostgresSQL(""))
    }

    func assignedReleases(version: Int64, group: String) async throws(CoordinatorError) -> [String: DesiredRelease] {
        var filter = PostgresSQL(" WHERE n.desired_version = ")
        filter.bind(version)
        filter.append(" AND n.group_name = ")
        filter.bind(group)
        return try await assigned(filter)
    }

    private func assigned(_ filter: PostgresSQL) async throws(CoordinatorError) -> [String: DesiredRelease] {
        var sql = PostgresSQL("""
            SELECT n.node_id, r.version, r.group_name, r.envelope, r.digest FROM node_releases n
            JOIN releases r ON r.version = n.desired_version AND r.group_name = n.group_name
            """)
        sql.append(filter.text)
        let query = PostgresQuery(unsafeSQL: sql.text, binds: filter.query.binds)
        return try await Self.decoded { () async throws -> [String: DesiredRelease] in
            var result: [String: DesiredRelease] = [:]
            for row in try await database.rows(query) {
                result[try row.get("node_id")] = DesiredRelease(version: try row.get("version"), group: try row.get("group_name"),
                                                                 envelope: try row.get("envelope"), digest: try row.get("digest"))
            }
            return result
        }
    }

    var reportCommit: BatchCommit<QueuedReport> {
        .async { [self] reports in try await recordReports(reports) }
    }

    /// Records node reports in one transaction. A report counts only for the node's assigned
    /// version (or, for a node without one, the group's default release it was served).
    func recordReports(_ reports: [QueuedReport]) async throws(CoordinatorError) {
        let logger = logger
        try await database.transaction { connection in
            for item in reports.sorted(by: { $0.nodeID < $1.nodeID }) {
                let r = item.report
                let at = item.at.timeIntervalSince1970
                let updated = try await connection.rows("""
                    UPDATE node_releases SET reported_version = \(r.version), status = \(r.status.rawValue), error_code = \(r.errorCode),
                        message = \(r.message), updated_at = \(at)
                    WHERE node_id = \(item.nodeID) AND desired_version = \(r.version) RETURNING 1
                    """, logger)
                if updated.isEmpty {
                    try await connection.execute("""
                        INSERT INTO node_releases (node_id, desired_version, group_name, reported_version, status, error_code, message, updated_at)
                        VALUES (\(item.nodeID), \(r.version), \(item.group), \(r.version), \(r.status.rawValue), \(r.errorCode), \(r.message), \(at))
                        ON CONFLICT DO NOTHING
                        """, logger)
                }
                try await connection.execute("""
                    UPDATE rollout_targets SET status = \(r.status.rawValue), error_code = \(r.errorCode), message = \(r.message), updated_at = \(at)
                    WHERE version = \(r.version) AND node_id = \(item.nodeID) AND status NOT IN ('waiting', 'superseded', 'aborted')
                    """, logger)
            }
        }
    }
}
