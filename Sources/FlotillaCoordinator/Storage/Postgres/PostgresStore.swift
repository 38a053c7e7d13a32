import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// `FleetStore` on a PostgreSQL server that several coordinators share. Every change is one
/// transaction of its own, so a coordinator that dies leaves nothing half written; state that
/// coordinators keep in memory follows through `PostgresClusterBus`.
final class PostgresStore: FleetStore {
    let database: PostgresPool
    var logger: Logger { database.logger }

    init(database: PostgresPool) {
        self.database = database
    }

    // MARK: Settings

    func setting(_ key: String) async throws(CoordinatorError) -> [UInt8]? {
        try await Self.decoded { () async throws -> [UInt8]? in
            try await database.rows("SELECT value FROM settings WHERE key = \(key)").first.map { Array(try $0.get("value", as: Data.self)) }
        }
    }

    func setSetting(_ key: String, _ value: [UInt8]) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO settings (key, value) VALUES (\(key), \(ByteBuffer(bytes: value)))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    func settingOnce(_ key: String, _ value: [UInt8]) async throws(CoordinatorError) -> [UInt8] {
        try await database.execute("INSERT INTO settings (key, value) VALUES (\(key), \(ByteBuffer(bytes: value))) ON CONFLICT (key) DO NOTHING")
        return try await setting(key) ?? value
    }

    // MARK: Nodes

    static let nodeColumns = """
        n.id, n.name, n.group_name, n.admin_state, n.enrolled_at, n.certificate_expires_at, n.certificate_serial,
        n.pending_certificate_serial
        """

    func enroll(
        tokenHash: [UInt8], name: String, nodeID: String, now: Date, gatewayKey: NodeKeyRecord?,
        issue: (String) throws(CoordinatorError) -> IssuedCertificate
    ) async throws(CoordinatorError) -> (NodeRecord, IssuedCertificate) {
        let logger = logger
        do {
            return try await database.transaction { connection -> (NodeRecord, IssuedCertificate) in
                // The token row is locked until commit: two enrollments racing for its last use
                // take it one after the other.
                let rows = try await connection.rows("SELECT * FROM enrollment_tokens WHERE token_hash = \(ByteBuffer(bytes: tokenHash)) FOR UPDATE", logger)
                guard let row = rows.first else { throw CoordinatorError(.tokenInvalid, "enrollment token is not known to this coordinator") }
                let token = try Self.token(row)
                try token.checkUsable(presentedHash: tokenHash, now: now)
                if try await !connection.rows("SELECT 1 FROM nodes WHERE lower(name) = lower(\(name))", logger).isEmpty {
                    throw CoordinatorError(.nameTaken, "a node named \(name) is already enrolled")
                }
                let issued = try issue(nodeID)
                let node = NodeRecord(
                    id: nodeID, name: name, group: token.group, adminState: token.requireApproval ? .pending : .active,
                    enrolledAt: now, certificateExpiresAt: issued.expiresAt, certificateSerial: issued.serial
                )
                try await connection.execute("UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = \(token.id) AND uses_left > 0", logger)
                let at = now.timeIntervalSince1970
                try await connection.execute("""
                    INSERT INTO nodes (id, name, group_name, admin_state, enrolled_at, token_id, certificate_expires_at, state_changed_at,
                                       certificate_serial)
                    VALUES (\(node.id), \(node.name), \(node.group), \(node.adminState.rawValue), \(at), \(token.id),
                            \(issued.expiresAt.timeIntervalSince1970), \(at), \(issued.serial))
                    """, logger)
                if let gatewayKey { try await PostgresNodeKeyStore.replace(gatewayKey, connection, logger) }
                return (node, issued)
            }
        } catch where error.code == .conflict {
            // Another coordinator enrolled the same name between the check and the insert.
            throw CoordinatorError(.nameTaken, "a node named \(name) is already enrolled")
        }
    }

    func nodes() async throws(CoordinatorError) -> [NodeRecord] {
        try await Self.decoded { () async throws -> [NodeRecord] in
            try await database.rows("SELECT \(unescaped: Self.nodeColumns) FROM nodes n").map(Self.node)
        }
    }

    func node(named name: String) async throws(CoordinatorError) -> NodeRecord? {
        try await Self.decoded { () async throws -> NodeRecord? in
            try await database.rows("SELECT \(unescaped: Self.nodeColumns) FROM nodes n WHERE n.name = \(name)").first.map(Self.node)
        }
    }

    func node(id: String) async throws(CoordinatorError) -> NodeRecord? {
        try await Self.decoded { () async throws -> NodeRecord? in
            try await database.rows("SELECT \(unescaped: Self.nodeColumns) FROM nodes n WHERE n.id = \(id)").first.map(Self.node)
        }
    }

    func setAdminState(name: String, to state: NodeAdminState, at now: Date) async throws(CoordinatorError) -> NodeRecord {
        let logger = logger
        return try await database.transaction { connection -> NodeRecord in
            let rows = try await connection.rows("SELECT \(unescaped: Self.nodeColumns) FROM nodes n WHERE n.name = \(name) FOR UPDATE", logger)
            guard let row = rows.first else { throw CoordinatorError.notFound("no node named \(name)") }
            var node = try Self.node(row)
            if node.adminState == .revoked && state != .revoked {
                throw CoordinatorError.invalidRequest("node \(name) is revoked; enroll the board again under a new name")
            }
            try await connection.execute(
                "UPDATE nodes SET admin_state = \(state.rawValue), state_changed_at = \(now.timeIntervalSince1970) WHERE id = \(node.id)", logger)
            node.adminState = state
            return node
        }
    }

    func storeRenewedCertificate(nodeID: String, serial: String, expiresAt: Date) async throws(CoordinatorError) -> NodeRecord {
        let rows = try await database.rows("""
            UPDATE nodes n SET pending_certificate_serial = \(serial), pending_certificate_expires_at = \(expiresAt.timeIntervalSince1970)
            WHERE n.id = \(nodeID) RETURNING \(unescaped: Self.nodeColumns)
            """)
        guard let row = rows.first else { throw CoordinatorError(.nodeUnknown, "this coordinator has no node \(nodeID)") }
        return try Self.decoded { () throws -> NodeRecord in try Self.node(row) }
    }

    func promoteCertificate(nodeID: String, serial: String) async throws(CoordinatorError) -> NodeRecord? {
        let rows = try await database.rows("""
            UPDATE nodes n SET certificate_serial = \(serial), pending_certificate_serial = NULL,
                certificate_expires_at = COALESCE(pending_certificate_expires_at, certificate_expires_at),
                pending_certificate_expires_at = NULL
            WHERE n.id = \(nodeID) AND (n.pending_certificate_serial = \(serial) OR n.certificate_serial IS NULL)
            RETURNING \(unescaped: Self.nodeColumns)
            """)
        return try Self.decoded { () throws -> NodeRecord? in try rows.first.map(Self.node) }
    }

    // MARK: Tokens

    func insertToken(_ token: TokenRecord) async throws(CoordinatorError) {
        try await database.execute("""
            INSERT INTO enrollment_tokens (id, token_hash, group_name, uses, uses_left, require_approval, created_at, expires_at)
            VALUES (\(token.id), \(ByteBuffer(bytes: token.tokenHash)), \(token.group), \(Int64(token.uses)), \(Int64(token.usesLeft)),
                    \(token.requireApproval), \(token.createdAt.timeIntervalSince1970), \(token.expiresAt.timeIntervalSince1970))
            """)
    }

    func tokens() async throws(CoordinatorError) -> [TokenRecord] {
        try await Self.decoded { () async throws -> [TokenRecord] in
            try await database.rows("SELECT * FROM enrollment_tokens ORDER BY created_at DESC").map(Self.token)
        }
    }

    func revokeToken(id: String, at now: Date) async throws(CoordinatorError) {
        let rows = try await database.rows(
            "UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, \(now.timeIntervalSince1970)) WHERE id = \(id) RETURNING id")
        guard !rows.isEmpty else { throw CoordinatorError.notFound("no enrollment token with id \(id)") }
    }

    // MARK: Rows

    static func node(_ row: PostgresRandomAccessRow) throws -> NodeRecord {
        NodeRecord(
            id: try row.get("id"), name: try row.get("name"), group: try row.get("group_name"),
            adminState: NodeAdminState(rawValue: try row.get("admin_state")) ?? .revoked,
            enrolledAt: Date(timeIntervalSince1970: try row.get("enrolled_at")),
            certificateExpiresAt: Date(timeIntervalSince1970: try row.get("certificate_expires_at")),
            certificateSerial: try row.get("certificate_serial"), pendingCertificateSerial: try row.get("pending_certificate_serial")
        )
    }

    static func token(_ row: PostgresRandomAccessRow) throws -> TokenRecord {
        var token = TokenRecord(
            id: try row.get("id"), tokenHash: Array(try row.get("token_hash", as: Data.self)), group: try row.get("group_name"),
            uses: Int(try row.get("uses", as: Int64.self)), requireApproval: try row.get("require_approval"),
            createdAt: Date(timeIntervalSince1970: try row.get("created_at")), expiresAt: Date(timeIntervalSince1970: try row.get("expires_at"))
        )
        token.usesLeft = Int(try row.get("uses_left", as: Int64.self))
        token.revokedAt = try row.get("revoked_at", as: Double?.self).map { Date(timeIntervalSince1970: $0) }
        return token
    }

    /// `body`'s result; a row that does not decode is an internal error (a schema out of step).
    static func decoded<T>(_ body: () async throws -> T) async throws(CoordinatorError) -> T {
        try await PostgresPool.mapped(body)
    }

    static func decoded<T>(_ body: () throws -> T) throws(CoordinatorError) -> T {
        do { return try body() } catch { throw PostgresPool.coordinatorError(error) }
    }
}
