import FlotillaProtocol
import Foundation
import Hummingbird

extension CoordinatorServices {
    /// Resolves the caller's node from its client certificate and refuses unknown, revoked and
    /// (unless allowed) pending nodes.
    func authenticateNode(
        _ context: CoordinatorRequestContext, now: Date, allowPending: Bool
    ) async throws(CoordinatorError) -> (PeerIdentity, NodeRecord) {
        let identity = try await identities.identity(of: context.channel, now: now)
        guard let node = directory.node(id: identity.nodeID) else {
            throw CoordinatorError(.nodeUnknown, "this coordinator has no node \(identity.nodeID)")
        }
        switch node.adminState {
        case .revoked: throw CoordinatorError(.nodeRevoked, "node \(node.name) has been revoked")
        case .pending where !allowPending:
            throw CoordinatorError(.nodePending, "node \(node.name) awaits approval (flotilla node approve \(node.name))")
        case .pending, .active: return (identity, node)
        }
    }
}
