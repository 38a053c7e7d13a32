import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// `NodeKeyStore` on PostgreSQL (`gateway_keys`).
struct PostgresNodeKeyStore: NodeKeyStore {
    let database: PostgresPool

    func replaceKey(_ record: NodeKeyRecord) async throws(CoordinatorError) {
        let logger = database.logger
        try await database.transaction { connection in try await Self.replace(record, connection, logger) }
    }

    /// Makes `record` the node's key inside a caller's transaction (enrollment).
    static func replace(_ record: NodeKeyRecord, _ connection: PostgresConnection, _ logger: Logger) async throws {
        try await connection.execute("""
            INSERT INTO gateway_keys (node_id, key_hash, key_id, issued_at)
            VALUES (\(record.nodeID), \(ByteBuffer(bytes: record.hash)), \(record.keyID), \(record.issuedAt.timeIntervalSince1970))
            ON CONFLICT (node_id) DO UPDATE SET key_hash = excluded.key_hash, key_id = excluded.key_id, issued_at = excluded.issued_at
            """, logger)
    }

    func deleteKey(nodeID: String) async throws(CoordinatorError) {
        try await database.execute("DELETE FROM gateway_keys WHERE node_id = \(nodeID)")
    }

    func key(nodeID: String) async throws(CoordinatorError) -> NodeKeyRecord? {
        try await PostgresStore.decoded { () async throws -> NodeKeyRecord? in
            try await database.rows("SELECT * FROM gateway_keys WHERE node_id = \(nodeID)").first.map(Self.record)
        }
    }

    func allKeys() async throws(CoordinatorError) -> [NodeKeyRecord] {
        try await PostgresStore.decoded { () async throws -> [NodeKeyRecord] in try await database.rows("SELECT * FROM gateway_keys").map(Self.record) }
    }

    private static func record(_ row: PostgresRandomAccessRow) throws -> NodeKeyRecord {
        NodeKeyRecord(nodeID: try row.get("node_id"), hash: Array(try row.get("key_hash", as: Data.self)), keyID: try row.get("key_id"),
                      issuedAt: Date(timeIntervalSince1970: try row.get("issued_at")))
    }
}

/// `SealedSecretStore` on PostgreSQL (`provider_secrets`): sealed bytes only.
struct PostgresSealedSecrets: SealedSecretStore {
    let database: PostgresPool

    func putSealed(_ secret: SealedSecret) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO provider_secrets (provider, sealed, set_at) VALUES (\(secret.provider), \(ByteBuffer(bytes: secret.sealed)), \(secret.setAt.timeIntervalSince1970))
            ON CONFLICT (provider) DO UPDATE SET sealed = excluded.sealed, set_at = excluded.set_at
            """)
    }

    func deleteSealed(provider: String) async throws(CoordinatorError) -> Bool {
        try await !database.rows("DELETE FROM provider_secrets WHERE provider = \(provider) RETURNING 1").isEmpty
    }

    func allSealed() async throws(CoordinatorError) -> [SealedSecret] {
        try await PostgresStore.decoded { () async throws -> [SealedSecret] in
            try await database.rows("SELECT provider, sealed, set_at FROM provider_secrets ORDER BY provider").map { row in
                SealedSecret(provider: try row.get("provider"), sealed: Array(try row.get("sealed", as: Data.self)),
                             setAt: Date(timeIntervalSince1970: try row.get("set_at")))
            }
        }
    }
}

/// `EventLog` on PostgreSQL (`events`).
struct PostgresEventLog: EventLog {
    let database: PostgresPool

    func append(_ event: FleetEvent, onceAs key: String?) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO events (at, kind, scope, message, once_key)
            VALUES (\(event.at.timeIntervalSince1970), \(event.kind.rawValue), \(event.scope), \(event.message), \(key)) ON CONFLICT DO NOTHING
            """)
    }

    func events(since: Date, limit: Int) async throws(CoordinatorError) -> [FleetEvent] {
        try await PostgresStore.decoded { () async throws -> [FleetEvent] in
            try await database.rows("""
                SELECT at, kind, scope, message FROM events WHERE at >= \(since.timeIntervalSince1970) ORDER BY at DESC, id DESC LIMIT \(Int64(limit))
                """).map { row in
                FleetEvent(at: Date(timeIntervalSince1970: try row.get("at")), kind: EventKind(rawValue: try row.get("kind")) ?? .rateLimited,
                           scope: try row.get("scope"), message: try row.get("message"))
            }
        }
    }
}

/// `DashboardSessionStore` on PostgreSQL: a sign-in on one coordinator opens the dashboard on
/// every one.
struct PostgresDashboardSessions: DashboardSessionStore {
    let database: PostgresPool

    func insert(_ session: DashboardSession) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO dashboard_sessions (id_hash, signed_in_with, source, created_at, expires_at)
            VALUES (\(session.idHash), \(session.signedInWith), \(session.source), \(session.createdAt.timeIntervalSince1970),
                    \(session.expiresAt.timeIntervalSince1970))
            """)
    }

    func session(idHash: String, now: Date) async throws(CoordinatorError) -> DashboardSession? {
        try await PostgresStore.decoded { () async throws -> DashboardSession? in
            try await database.rows(
                "SELECT * FROM dashboard_sessions WHERE id_hash = \(idHash) AND expires_at > \(now.timeIntervalSince1970)"
            ).first.map { row in
                DashboardSession(idHash: try row.get("id_hash"), signedInWith: try row.get("signed_in_with"), source: try row.get("source"),
                                 createdAt: Date(timeIntervalSince1970: try row.get("created_at")),
                                 expiresAt: Date(timeIntervalSince1970: try row.get("expires_at")))
            }
        }
    }

    func delete(idHash: String) async throws(CoordinatorError) {
        try await database.execute("DELETE FROM dashboard_sessions WHERE id_hash = \(idHash)")
    }

    func deleteAll() async throws(CoordinatorError) {
        try await database.execute("DELETE FROM dashboard_sessions")
    }

    func deleteExpired(now: Date) async throws(CoordinatorError) {
        try await database.execute("DELETE FROM dashboard_sessions WHERE expires_at <= \(now.timeIntervalSince1970)")
    }
}

/// `ClusterMembership` on PostgreSQL (`coordinators`).
struct PostgresMembership: ClusterMembership {
    let database: PostgresPool

    func announce(id: String, url: String, startedAt: Date, now: Date) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO coordinators (id, url, started_at, seen_at) VALUES (\(id), \(url), \(startedAt.timeIntervalSince1970), \(now.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at
            """)
        // Entries of coordinators gone for a day are history.
        try await database.execute("DELETE FROM coordinators WHERE seen_at < \(now.timeIntervalSince1970 - 86_400)")
    }

    func members(seenSince since: Date) async throws(CoordinatorError) -> [CoordinatorMember] {
        try await PostgresStore.decoded { () async throws -> [CoordinatorMember] in
            try await database.rows("SELECT * FROM coordinators WHERE seen_at >= \(since.timeIntervalSince1970) ORDER BY started_at").map { row in
                CoordinatorMember(id: try row.get("id"), url: try row.get("url"), startedAt: Date(timeIntervalSince1970: try row.get("started_at")),
                                  seenAt: Date(timeIntervalSince1970: try row.get("seen_at")))
            }
        }
    }

    func leave(id: String) async {
        try? await database.execute("DELETE FROM coordinators WHERE id = \(id)")
    }
}
