import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// Authenticates the calling node once per request and puts it into the context
/// (`CoordinatorRequestContext.node`), for the node endpoints and the gateway alike.
///
/// A client certificate issued by the fleet CA identifies the node. Gateway routes also accept
/// the node's gateway key as `Authorization: Bearer <key>` or `x-api-key: <key>` (what the
/// OpenAI and Anthropic SDKs send); when a valid certificate is presented, the key header is
/// ignored, so SDKs that insist on some key work over mutual TLS. Unknown, revoked and pending
/// nodes are refused, and so is a certificate a renewal replaced.
struct NodeAuthMiddleware: RouterMiddleware {
    typealias Context = CoordinatorRequestContext

    let services: CoordinatorServices
    /// Whether a gateway key may stand in for the certificate (gateway routes).
    let acceptsGatewayKey: Bool
    init(services: CoordinatorServices, acceptsGatewayKey: Bool = false) {
        self.services = services
        self.acceptsGatewayKey = acceptsGatewayKey
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.node = try await authenticate(request, context)
        return try await next(request, context)
    }

    func authenticate(_ request: Request, _ context: Context) async throws(CoordinatorError) -> AuthenticatedNode {
        let now = Date()
        var certificate: PeerIdentity?
        do {
            certificate = try await services.identities.identityIfPresented(by: context.channel, now: now)
        } catch {
            // A bad certificate is refused unless a gateway key may speak instead.
            guard acceptsGatewayKey, Self.presentedKey(request) != nil else { throw error }
        }
        let nodeID: String
        let credential: AuthenticatedNode.Credential
        if let certificate {
            nodeID = certificate.nodeID
            credential = .certificate
        } else if acceptsGatewayKey {
            guard let key = Self.presentedKey(request) else {
                throw CoordinatorError(.invalidAPIKey, "no gateway key: send Authorization: Bearer <gateway.key> or x-api-key, or use the node's client certificate")
            }
            guard let owner = services.nodeKeys.node(presenting: key) else {
                throw CoordinatorError(.invalidAPIKey, "the gateway key is not valid (rotated, revoked or mistyped)")
            }
            nodeID = owner
            credential = .gatewayKey
        } else {
            throw CoordinatorError(.clientCertificateRequired, "this endpoint needs the node's client certificate (mutual TLS)")
        }
        guard var node = services.directory.node(id: nodeID) else {
            throw CoordinatorError(.nodeUnknown, "this coordinator has no node \(nodeID)")
        }
        if let certificate, certificate.serial != node.certificateSerial {
            node = try await promote(node, to: certificate.serial)
        }
        switch node.adminState {
        case .revoked: throw CoordinatorError(.nodeRevoked, "node \(node.name) has been revoked")
        case .pending:
            throw CoordinatorError(.nodePending, "node \(node.name) awaits approval (flotilla node approve \(node.name))")
        case .active:
            break
        }
        return AuthenticatedNode(record: node, group: services.effectiveGroup(of: node), credential: credential, certificate: certificate)
    }

    /// A certificate other than the node's current one: its renewed certificate (which retires
    /// the old one from now on), or the first one seen of a node enrolled before serials were
    /// kept. Anything else, such as the certificate a renewal replaced, is refused.
    private func promote(_ node: NodeRecord, to serial: String) async throws(CoordinatorError) -> NodeRecord {
        guard node.certificateSerial == nil || node.pendingCertificateSerial == serial,
              let updated = try await services.store.promoteCertificate(nodeID: node.id, serial: serial) else {
            throw CoordinatorError(.certificateRetired, "this certificate of node \(node.name) was replaced by a renewal; use the new one")
        }
        await services.nodeChanged(updated)
        return updated
    }

    /// The key from `Authorization: Bearer` or `x-api-key`, if either is there.
    static func presentedKey(_ request: Request) -> String? {
        // Optional whitespace around the value (RFC 9110 §5.6.3) is dropped byte-wise: Foundation's
        // `trimmingCharacters` goes through NSString and cost 1.6% of the gateway's CPU.
        if let token = request.bearerToken {
            let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
            if let first = token.utf8.firstIndex(where: { !isSpace($0) }), let last = token.utf8.lastIndex(where: { !isSpace($0) }) {
                return String(token[first...last])
            }
        }
        if let key = request.headers[HTTPField.Name("x-api-key")!], !key.isEmpty { return key }
        return nil
    }
}
