import FlotillaProtocol
import Foundation
import GRDB

/// `NodeKeyStore` in the coordinator's SQLite file (`gateway_keys`).
struct SQLiteNodeKeyStore: NodeKeyStore {
    let store: SQLiteStore

    func replaceKey(_ record: NodeKeyRecord) async throws(CoordinatorError) {
        try store.write { db in try Self.insert(db, record) }
    }

    /// Inserts or replaces a node's key inside a caller's transaction (enrollment).
    static func insert(_ db: Database, _ record: NodeKeyRecord) throws {
        try db.execute(
            sql: """
                INSERT INTO gateway_keys (node_id, key_hash, key_id, issued_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(node_id) DO UPDATE SET key_hash = excluded.key_hash, key_id = excluded.key_id,
                    issued_at = excluded.issued_at
                """,
            arguments: [record.nodeID, Data(record.hash), record.keyID, record.issuedAt.timeIntervalSince1970]
        )
    }

    func deleteKey(nodeID: String) async throws(CoordinatorError) {
        try store.write { db in try db.execute(sql: "DELETE FROM gateway_keys WHERE node_id = ?", arguments: [nodeID]) }
    }

    func key(nodeID: String) async throws(CoordinatorError) -> NodeKeyRecord? {
        try store.read { db in try Row.fetchOne(db, sql: "SELECT * FROM gateway_keys WHERE node_id = ?", arguments: [nodeID]).map(Self.record) }
    }

    func allKeys() async throws(CoordinatorError) -> [NodeKeyRecord] {
        try store.read { db in try Row.fetchAll(db, sql: "SELECT * FROM gateway_keys").map(Self.record) }
    }

    private static func record(_ row: Row) -> NodeKeyRecord {
        NodeKeyRecord(nodeID: row["node_id"], hash: Array(row["key_hash"] as Data), keyID: row["key_id"],
                      issuedAt: Date(timeIntervalSince1970: row["issued_at"]))
    }
}
