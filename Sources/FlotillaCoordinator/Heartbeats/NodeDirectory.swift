import FlotillaProtocol
import Synchronization

/// The coordinator's in-memory view of every node's identity and admin state.
///
/// Node endpoints consult it on every request, so a revocation takes effect on the node's next
/// request without a database read on the hot path. The database stays the source of truth:
/// changes are written there first, then published here.
final class NodeDirectory: Sendable {
    private let nodes = Mutex<[String: NodeRecord]>([:])

    init(_ records: [NodeRecord]) {
        nodes.withLock { map in
            for record in records { map[record.id] = record }
        }
    }

    func node(id: String) -> NodeRecord? {
        nodes.withLock { $0[id] }
    }

    /// Every node known, in no particular order.
    func all() -> [NodeRecord] {
        nodes.withLock { Array($0.values) }
    }

    func publish(_ record: NodeRecord) {
        nodes.withLock { $0[record.id] = record }
    }

    /// Replaces every record (a reload from the database).
    func replaceAll(_ records: [NodeRecord]) {
        nodes.withLock { map in
            map = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        }
    }
}
