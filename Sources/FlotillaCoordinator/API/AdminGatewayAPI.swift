import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Admin endpoints of the gateway: provider keys, usage, the configuration in force and node
/// gateway key rotation.
struct AdminGatewayAPI {
    let services: CoordinatorServices
    /// Longest provider key accepted.
    static let maxSecretBytes = 8 * 1024

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.get("secrets") { _, _ in try await listSecrets() }
        group.put("secrets/:provider") { request, context in try await setSecret(request, context) }
        group.delete("secrets/:provider") { _, context in try await deleteSecret(context) }
        group.get("usage") { request, _ in try await usage(request) }
        group.get("gateway") { _, _ in try await gateway() }
        group.post("nodes/:name/rotate-key") { _, context in try await rotateKey(context) }
    }

    func listSecrets() async throws(CoordinatorError) -> Response {
        let declared = services.gatewayConfig.catalog.providerNames
        let secrets = try await services.vault.listSecrets().map {
            SecretInfo(provider: $0.provider, setAt: Timestamps.rfc3339($0.setAt), declared: declared.contains($0.provider))
        }
        return try JSONBody.encoded(secrets)
    }

    func setSecret(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let provider = try Self.provider(context)
        guard services.gatewayConfig.catalog.providerNames.contains(provider) else {
            let known = services.gatewayConfig.catalog.providerNames.sorted()
            throw CoordinatorError(.unknownProvider, "no provider '\(provider)' is declared (\(known.isEmpty ? "none are: add it under providers: in fleet.yaml and apply" : "declared: " + known.joined(separator: ", ")))")
        }
        let body = try await JSONBody.decode(SetSecretRequest.self, from: request, limit: Self.maxSecretBytes + 1024)
        let value = body.value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty, value.utf8.count <= Self.maxSecretBytes else {
            throw .invalidRequest("the key must be 1 to \(Self.maxSecretBytes) bytes")
        }
        guard !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw .invalidRequest("the key must be one line of printable characters")
        }
        let now = Date()
        try await services.vault.setSecret(provider: provider, value: value, now: now)
        services.logger.notice("provider key set", metadata: ["provider": "\(provider)"])
        await services.audit(AuditRecord("secret.set", target: provider), context)
        return try JSONBody.encoded(SecretInfo(provider: provider, setAt: Timestamps.rfc3339(now), declared: true))
    }

    func deleteSecret(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let provider = try Self.provider(context)
        guard try await services.vault.deleteSecret(provider: provider) else { throw .notFound("no key is set for provider '\(provider)'") }
        services.logger.notice("provider key deleted", metadata: ["provider": "\(provider)"])
        await services.audit(AuditRecord("secret.delete", target: provider), context)
        return Response(status: .noContent)
    }

    /// `?by=node|group|model|provider` (default node), `&since_seconds=N` (default 86400) or
    /// `&from=RFC3339[&to=RFC3339]`, `&node=NAME`, `&group=G`.
    func usage(_ request: Request) async throws(CoordinatorError) -> Response {
        let parameters = request.uri.queryParameters
        let byText = parameters.get("by") ?? "node"
        guard let by = UsageGrouping(rawValue: byText) else { throw .invalidRequest("by must be node, group, model or provider") }
        let now = Date()
        var from = now.addingTimeInterval(-86_400)
        var to = now
        if let text = parameters.get("since_seconds") {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else { throw .invalidRequest("since_seconds must be a positive number") }
            from = now.addingTimeInterval(-seconds)
        }
        if let text = parameters.get("from") {
            guard let date = Timestamps.parse(text) else { throw .invalidRequest("from must be an RFC 3339 time") }
            from = date
        }
        if let text = parameters.get("to") {
            guard let date = Timestamps.parse(text) else { throw .invalidRequest("to must be an RFC 3339 time") }
            to = date
        }
        guard from < to else { throw .invalidRequest("from must be before to") }
        var nodeID: String?
        if let name = parameters.get("node") {
            guard let node = try await services.store.node(named: name) else { throw .notFound("no node named \(name)") }
            nodeID = node.id
        }
        let (range, aggregates) = try await services.ledger.report(
            UsageQuery(by: by, from: from, to: to, nodeID: nodeID, group: parameters.get("group")))
        let rows = aggregates.map { aggregate -> UsageRow in
            var key = aggregate.key
            if by == .node { key = services.directory.node(id: key)?.name ?? key }
            return Self.row(aggregate, key: key)
        }
        let total = UsageAggregate.total(of: aggregates)
        return try JSONBody.encoded(UsageReport(by: by, from: Timestamps.rfc3339(range.from), to: Timestamps.rfc3339(range.to), rows: rows,
                                      total: Self.row(total, key: "total")))
    }

    static func row(_ a: UsageAggregate, key: String) -> UsageRow {
        UsageRow(key: key, calls: a.calls, refused: a.refused, failed: a.failed, fallbacks: a.fallbacks, inputTokens: a.inputTokens,
                 outputTokens: a.outputTokens, cachedTokens: a.cachedTokens, costUSD: Double(a.costNanos) / 1e9)
    }

    func gateway() async throws(CoordinatorError) -> Response {
        let keys = try await services.vault.listSecrets().map(\.provider)
        return try JSONBody.encoded(GatewayView(spec: services.gatewayConfig.catalog.spec, keysSet: keys))
    }

    /// Deletes the node's gateway key: it stops working at once, and the node fetches a new one
    /// over mutual TLS with its next heartbeat.
    func rotateKey(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        guard let name = context.parameters.get("name") else { throw .invalidRequest("missing node name") }
        try await rotateKey(name: name, context)
        return try await AdminAPI(services: services).nodeView(name: name)
    }

    /// Revokes the node's gateway key (it gets a new one with its next heartbeat), audited.
    func rotateKey(name: String, _ context: CoordinatorRequestContext) async throws(CoordinatorError) {
        guard let node = try await services.store.node(named: name) else { throw .notFound("no node named \(name)") }
        try await services.nodeKeys.revoke(nodeID: node.id)
        services.logger.notice("node gateway key rotated", metadata: ["node": "\(name)"])
        await services.audit(AuditRecord("node.rotate_key", target: node.name), context)
    }

    private static func provider(_ context: CoordinatorRequestContext) throws(CoordinatorError) -> String {
        guard let provider = context.parameters.get("provider"), NameRules.isValidGroupName(provider) else {
            throw .invalidRequest("a provider is named by 1-63 of A-Z a-z 0-9 . _ -")
        }
        return provider
    }
}
