import FlotillaProtocol
import Hummingbird
import Logging
import NIOCore

/// Per-request context: Hummingbird's core storage, the connection (node endpoints read the TLS
/// client certificate from it) and the node the request comes from, which `NodeAuthMiddleware`
/// sets once for every node and gateway route.
public struct CoordinatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// The authenticated caller of a node or gateway route; nil elsewhere.
    var node: AuthenticatedNode?
    /// The operator behind an admin or dashboard request (set by their auth middleware), as the
    /// audit log names them; nil elsewhere.
    var actor: AuditActor?
    /// The signed-in dashboard session (set by `DashboardAuthMiddleware`): its forms' CSRF token.
    var dashboardSession: SessionSecrets?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.channel = source.channel
    }

    /// The caller's IP address, for logs and per-source limits.
    public var remoteAddress: String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The node `NodeAuthMiddleware` authenticated; an internal error on a route without it.
    func requireNode() throws(CoordinatorError) -> AuthenticatedNode {
        guard let node else { throw .internal("route is missing NodeAuthMiddleware") }
        return node
    }
}

/// A node that proved who it is, by client certificate or gateway key.
struct AuthenticatedNode: Sendable {
    /// How the caller proved it.
    enum Credential: Sendable, Equatable {
        case certificate
        case gatewayKey
    }

    var record: NodeRecord
    /// The group whose releases, models and (later) budgets apply: the group of the node's
    /// assigned release when it is a listed member of another group, else its enrolled group.
    var group: String
    var credential: Credential
    /// The client certificate's identity when the caller used one.
    var certificate: PeerIdentity?

    var id: String { record.id }
}
