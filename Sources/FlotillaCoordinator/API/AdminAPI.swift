import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The admin endpoints behind the admin token: enrollment tokens and the fleet view.
struct AdminAPI {
    let services: CoordinatorServices
    /// Longest lifetime an enrollment token may be given.
    static let maxTokenTTL: TimeInterval = 365 * 86_400
    static let maxTokenUses = 100_000

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.post("tokens") { request, context in try await createToken(request, context) }
        group.post("admin-token/rotate") { _, context in try await rotateAdminToken(context) }
        group.get("tokens") { _, _ in try await listTokens() }
        group.delete("tokens/:id") { _, context in try await revokeToken(context) }
        group.get("nodes") { request, _ in try await listNodes(request) }
        group.get("nodes/:name") { _, context in try await showNode(context) }
        group.post("nodes/:name/approve") { _, context in try await setState(context, .active) }
        group.post("nodes/:name/revoke") { _, context in try await setState(context, .revoked) }
    }

    func createToken(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(CreateTokenRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        guard NameRules.isValidGroupName(body.group) else {
            throw .invalidRequest("group must be 1-63 of A-Z a-z 0-9 . _ - and start with a letter or digit")
        }
        guard (1...Self.maxTokenUses).contains(body.uses) else {
            throw .invalidRequest("uses must be between 1 and \(Self.maxTokenUses)")
        }
        guard body.ttlSeconds > 0, TimeInterval(body.ttlSeconds) <= Self.maxTokenTTL else {
            throw .invalidRequest("ttl must be positive and at most 365 days")
        }
        let now = Date()
        let secret = Secrets.generateToken()
        let record = TokenRecord(
            id: Secrets.shortID(), tokenHash: Secrets.hash(secret), group: body.group, uses: body.uses,
            requireApproval: body.requireApproval, createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(body.ttlSeconds))
        )
        try await services.store.insertToken(record)
        services.logger.info(
            "enrollment token created", metadata: ["id": "\(record.id)", "group": "\(record.group)", "uses": "\(record.uses)"]
        )
        await services.audit(AuditRecord("token.create", target: record.id, details: [
            "group": record.group, "uses": "\(record.uses)", "ttl_seconds": "\(body.ttlSeconds)",
            "require_approval": "\(record.requireApproval)",
        ]), context)
        let created = CreatedToken(
            id: record.id, token: secret, group: record.group, uses: record.uses,
            expiresAt: Timestamps.rfc3339(record.expiresAt), requireApproval: record.requireApproval,
            coordinatorURL: services.advertisedURL(), caPEM: services.ca.certificatePEM, caSHA256: services.ca.fingerprint,
            rootPublicKey: services.releases.trust.rootPublicKey, coordinators: await coordinatorURLs()
        )
        return try JSONBody.encoded(created, status: .created)
    }

    /// This coordinator's URL, then every other running coordinator's, oldest first.
    func coordinatorURLs() async -> [String] {
        await services.members.liveURLs(own: services.advertisedURL())
    }

    func listTokens() async throws(CoordinatorError) -> Response {
        try await JSONBody.encoded(try services.store.tokens().map(\.info), status: .ok)
    }

    /// A new admin token; the one that authorised this request stops working at once.
    func rotateAdminToken(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let token = try await services.credentials.rotate()
        services.logger.notice("admin token rotated")
        // Dashboard sessions opened with the old token end with it (the middleware also refuses
        // them by fingerprint; this clears them from the store).
        do { try await services.sessions.deleteAll() } catch { services.logger.error("dashboard sessions not cleared", metadata: ["error": "\(error)"]) }
        await services.audit(AuditRecord("admin_token.rotate"), context)
        return try JSONBody.encoded(AdminTokenRotation(adminToken: token), status: .ok)
    }

    func revokeToken(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        guard let id = context.parameters.get("id") else { throw .invalidRequest("missing token id") }
        try await services.store.revokeToken(id: id, at: Date())
        services.logger.info("enrollment token revoked", metadata: ["id": "\(id)"])
        await services.audit(AuditRecord("token.revoke", target: id), context)
        return Response(status: .noContent)
    }

    func listNodes(_ request: Request) async throws(CoordinatorError) -> Response {
        let group = request.uri.queryParameters.get("group")
        return try JSONBody.encoded(try await views(group: group, name: nil), status: .ok)
    }

    func showNode(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        guard let name = context.parameters.get("name") else { throw .invalidRequest("missing node name") }
        return try await nodeView(name: name)
    }

    /// One node's view as a response, or `not_found`.
    func nodeView(name: String) async throws(CoordinatorError) -> Response {
        guard let view = try await views(group: nil, name: name).first else { throw .notFound("no node named \(name)") }
        return try JSONBody.encoded(view, status: .ok)
    }

    /// Node views with their latest state, gateway spend (UTC day and month) and key id.
    func views(group: String?, name: String?) async throws(CoordinatorError) -> [NodeView] {
        let now = Date()
        var views = try await services.store.nodeViews(group: group, name: name, now: now, interval: services.heartbeatInterval)
        let spend = try await services.ledger.nodeSpend(today: now, nodeIDs: name == nil ? nil : views.map(\.id))
        let budgetUse = await AdminBudgetAPI.budgetUse(services, nodeIDs: views.map(\.id))
        for index in views.indices {
            let node = spend[views[index].id] ?? NodeSpend()
            views[index].costTodayUSD = Double(node.todayNanos) / 1e9
            views[index].costMonthUSD = Double(node.monthNanos) / 1e9
            views[index].gatewayKeyID = services.nodeKeys.keyID(nodeID: views[index].id)
            views[index].budgetUsedPercent = budgetUse[views[index].id]
        }
        return views
    }

    func setState(_ context: CoordinatorRequestContext, _ state: NodeAdminState) async throws(CoordinatorError) -> Response {
        guard let name = context.parameters.get("name") else { throw .invalidRequest("missing node name") }
        try await setState(name: name, state, context)
        return try await nodeView(name: name)
    }

    /// Sets a node's admin state (approve or revoke), audited; the admin API answers with the
    /// node's view, the dashboard with a redirect.
    func setState(name: String, _ state: NodeAdminState, _ context: CoordinatorRequestContext) async throws(CoordinatorError) {
        let node = try await services.store.setAdminState(name: name, to: state, at: Date())
        await services.nodeChanged(node)
        await services.fleetChanged()
        services.logger.notice("node state changed", metadata: ["node": "\(name)", "state": "\(state.rawValue)"])
        await services.audit(AuditRecord(state == .active ? "node.approve" : "node.revoke", target: node.name), context)
    }
}
