import FlotillaProtocol
import Foundation
import Synchronization

/// A node gateway key as stored: only its hash and id.
struct NodeKeyRecord: Sendable, Equatable {
    var nodeID: String
    var hash: [UInt8]
    var keyID: String
    var issuedAt: Date
}

/// Persistence of node gateway key hashes: `SQLiteNodeKeyStore`, `PostgresNodeKeyStore`.
protocol NodeKeyStore: Sendable {
    /// Makes `record` the node's only key (the previous one stops matching).
    func replaceKey(_ record: NodeKeyRecord) async throws(CoordinatorError)
    /// Removes the node's key; the node has none until it fetches a new one.
    func deleteKey(nodeID: String) async throws(CoordinatorError)
    /// The node's current key, if it has one.
    func key(nodeID: String) async throws(CoordinatorError) -> NodeKeyRecord?
    func allKeys() async throws(CoordinatorError) -> [NodeKeyRecord]
}

/// A freshly issued key: the plain text exists only in this value, on its way to the node.
struct IssuedNodeKey: Sendable {
    var key: String
    var record: NodeKeyRecord
}

/// Node gateway keys: issuing, rotating and checking them. Keys are `flt_gw_` + 32 random bytes;
/// the coordinator keeps the SHA-256 only (a copied database grants nothing) and looks callers
/// up in memory, so checking a key costs one hash and one dictionary lookup.
final class NodeKeyService: Sendable {
    private struct Index {
        var nodeByHash: [[UInt8]: String] = [:]
        var recordByNode: [String: NodeKeyRecord] = [:]
    }

    private let store: any NodeKeyStore
    private let bus: any ClusterBus
    private let index = Mutex(Index())

    init(store: any NodeKeyStore, bus: any ClusterBus = LocalClusterBus()) {
        self.store = store
        self.bus = bus
    }

    /// Loads every stored key hash (at start, and after the bus may have missed changes).
    func load() async throws(CoordinatorError) {
        let records = try await store.allKeys()
        index.withLock { index in
            index = Index()
            for record in records { Self.insert(record, into: &index) }
        }
    }

    /// Reloads one node's key after another coordinator changed it.
    func reload(nodeID: String) async throws(CoordinatorError) {
        let record = try await store.key(nodeID: nodeID)
        index.withLock { index in
            if let old = index.recordByNode.removeValue(forKey: nodeID) { index.nodeByHash.removeValue(forKey: old.hash) }
            if let record { Self.insert(record, into: &index) }
        }
    }

    /// A new key for `nodeID` (not yet stored: see `issue` or enrollment).
    static func make(nodeID: String, now: Date) -> IssuedNodeKey {
        let key = Secrets.generateToken(prefix: "flt_gw_")
        let hash = Secrets.hash(key)
        return IssuedNodeKey(key: key, record: NodeKeyRecord(nodeID: nodeID, hash: hash, keyID: keyID(hash: hash), issuedAt: now))
    }

    /// The public id of a key: the first 16 hex digits of its SHA-256.
    static func keyID(hash: [UInt8]) -> String {
        String(Secrets.hex(hash).prefix(GatewayKeyID.hexDigits))
    }

    /// Issues and stores a new key for `nodeID`; the previous key stops working at once.
    func issue(nodeID: String, now: Date = Date()) async throws(CoordinatorError) -> IssuedNodeKey {
        let issued = Self.make(nodeID: nodeID, now: now)
        try await store.replaceKey(issued.record)
        publish(issued.record)
        await bus.publish(.gatewayKey(nodeID: nodeID))
        return issued
    }

    /// Deletes the node's key (rotation, revocation): it stops working at once.
    func revoke(nodeID: String) async throws(CoordinatorError) {
        try await store.deleteKey(nodeID: nodeID)
        index.withLock { index in
            if let old = index.recordByNode.removeValue(forKey: nodeID) { index.nodeByHash.removeValue(forKey: old.hash) }
        }
        await bus.publish(.gatewayKey(nodeID: nodeID))
    }

    /// Records a key stored elsewhere (enrollment's transaction).
    func publish(_ record: NodeKeyRecord) {
        index.withLock { Self.insert(record, into: &$0) }
    }

    /// The node whose current key is `presented`, if any.
    func node(presenting presented: String) -> String? {
        let hash = Secrets.hash(presented)
        return index.withLock { index -> String? in
            guard let node = index.nodeByHash[hash], let record = index.recordByNode[node],
                  Secrets.constantTimeEquals(record.hash, hash) else { return nil }
            return node
        }
    }

    /// The id of the node's current key, nil when it has none.
    func keyID(nodeID: String) -> String? {
        index.withLock { $0.recordByNode[nodeID]?.keyID }
    }

    private static func insert(_ record: NodeKeyRecord, into index: inout Index) {
        if let old = index.recordByNode[record.nodeID] { index.nodeByHash.removeValue(forKey: old.hash) }
        index.recordByNode[record.nodeID] = record
        index.nodeByHash[record.hash] = record.nodeID
    }
}
