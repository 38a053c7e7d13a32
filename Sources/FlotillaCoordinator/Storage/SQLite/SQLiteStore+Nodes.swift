import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// Enrolls a node in one transaction: checks and spends a token use, checks the name is free,
    /// asks `issue` for the certificate, inserts the node and its gateway key hash. Nothing is
    /// stored when any step fails.
    func enroll(
        tokenHash: [UInt8], name: String, nodeID: String, now: Date, gatewayKey: NodeKeyRecord?,
        issue: (String) throws(CoordinatorError) -> IssuedCertificate
    ) async throws(CoordinatorError) -> (NodeRecord, IssuedCertificate) {
        try write { db in
            let token = try Self.usableToken(db: db, hash: tokenHash, now: now)
            // Names are unique whatever their case: `N1` and `n1` are one board to an operator.
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM nodes WHERE name = ? COLLATE NOCASE", arguments: [name]) == true {
                throw CoordinatorError(.nameTaken, "a node named \(name) is already enrolled")
            }
            let issued = try issue(nodeID)
            let node = NodeRecord(
                id: nodeID, name: name, group: token.group, adminState: token.requireApproval ? .pending : .active,
                enrolledAt: now, certificateExpiresAt: issued.expiresAt, certificateSerial: issued.serial
            )
            try db.execute(
                sql: "UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0",
                arguments: [token.id]
            )
            try db.execute(
                sql: """
                    INSERT INTO nodes (id, name, group_name, admin_state, enrolled_at, token_id, certificate_expires_at, state_changed_at,
                                       certificate_serial)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    node.id, node.name, node.group, node.adminState.rawValue, now.timeIntervalSince1970, token.id,
                    issued.expiresAt.timeIntervalSince1970, now.timeIntervalSince1970, issued.serial,
                ]
            )
            if let gatewayKey { try SQLiteNodeKeyStore.insert(db, gatewayKey) }
            return (node, issued)
        }
    }

    /// Every node record.
    func nodes() async throws(CoordinatorError) -> [NodeRecord] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM nodes").map(NodeRecord.init(row:)) }
    }

    /// The node called `name`, if any.
    func node(named name: String) async throws(CoordinatorError) -> NodeRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE name = ?", arguments: [name]).map(NodeRecord.init(row:))
        }
    }

    func node(id: String) async throws(CoordinatorError) -> NodeRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [id]).map(NodeRecord.init(row:))
        }
    }

    /// Sets a node's admin state (approve, revoke) and returns the updated record.
    func setAdminState(name: String, to state: NodeAdminState, at now: Date) async throws(CoordinatorError) -> NodeRecord {
        try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE name = ?", arguments: [name]) else {
                throw CoordinatorError.notFound("no node named \(name)")
            }
            var node = NodeRecord(row: row)
            if node.adminState == .revoked && state != .revoked {
                throw CoordinatorError.invalidRequest("node \(name) is revoked; enroll the board again under a new name")
            }
            try db.execute(
                sql: "UPDATE nodes SET admin_state = ?, state_changed_at = ? WHERE id = ?",
                arguments: [state.rawValue, now.timeIntervalSince1970, node.id]
            )
            node.adminState = state
            return node
        }
    }

    /// Records a renewed certificate as pending: the current one keeps working until the node
    /// first uses the new one (`promoteCertificate`), so a renewal whose answer was lost costs
    /// nothing. A later renewal replaces a pending certificate that was never used.
    func storeRenewedCertificate(nodeID: String, serial: String, expiresAt: Date) async throws(CoordinatorError) -> NodeRecord {
        try write { db in
            try db.execute(sql: "UPDATE nodes SET pending_certificate_serial = ?, pending_certificate_expires_at = ? WHERE id = ?",
                           arguments: [serial, expiresAt.timeIntervalSince1970, nodeID])
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [nodeID]) else {
                throw CoordinatorError(.nodeUnknown, "this coordinator has no node \(nodeID)")
            }
            return NodeRecord(row: row)
        }
    }

    /// The node presented `serial`: when it is the pending certificate, it becomes the only one
    /// (the previous certificate is retired); a node from before serials were kept adopts the
    /// certificate it presents. Returns the updated record, or nil when nothing changed.
    func promoteCertificate(nodeID: String, serial: String) async throws(CoordinatorError) -> NodeRecord? {
        try write { db in
            try db.execute(sql: """
                UPDATE nodes SET certificate_serial = ?, pending_certificate_serial = NULL,
                    certificate_expires_at = COALESCE(pending_certificate_expires_at, certificate_expires_at),
                    pending_certificate_expires_at = NULL
                WHERE id = ? AND (pending_certificate_serial = ? OR certificate_serial IS NULL)
                """, arguments: [serial, nodeID, serial])
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [nodeID]).map(NodeRecord.init(row:))
        }
    }
}
