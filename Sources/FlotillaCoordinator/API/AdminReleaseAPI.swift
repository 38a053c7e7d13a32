import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Admin endpoints for releases, rollouts and the signing keys.
struct AdminReleaseAPI {
    let services: CoordinatorServices

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.post("releases") { request, _ in try await publish(request) }
        group.get("rollouts") { _, _ in try listRollouts() }
        group.get("rollouts/:version") { _, context in try showRollout(context) }
        group.post("rollouts/rollback") { request, _ in try await rollback(request) }
        group.post("rollouts/:version/pause") { _, context in try transition(context, to: .paused, from: [.running]) }
        group.post("rollouts/:version/resume") { _, context in try transition(context, to: .running, from: [.paused]) }
        group.post("rollouts/:version/abort") { _, context in try transition(context, to: .aborted, from: [.running, .paused]) }
        group.get("keys") { _, _ in try encode(services.releases.trust.view()) }
        group.post("keys/rotate-signing") { request, _ in try await rotateSigning(request) }
        group.post("keys/rotate-root") { request, _ in try await rotateRoot(request) }
        group.post("keys/export-root") { request, _ in try await exportRoot(request) }
    }

    func publish(_ request: Request) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(PublishRequest.self, from: request, limit: WireLimits.publishBodyBytes)
        let keysSet = Set(try await services.vault.listSecrets().map(\.provider))
        let result = try services.releases.publish(
            body, gateway: ReleaseService.GatewayPublishing(service: services.gatewayConfig, keysSet: keysSet)
        )
        services.rollouts.poke()
        return try encode(result, status: result.releaseVersion == nil ? .ok : .created)
    }

    func listRollouts() throws(CoordinatorError) -> Response {
        var views: [RolloutView] = []
        for version in try services.store.allRolloutVersions(limit: 100) {
            if let view = try services.releases.rolloutView(version: version, withNodes: false) { views.append(view) }
        }
        return try encode(views)
    }

    func showRollout(_ context: CoordinatorRequestContext) throws(CoordinatorError) -> Response {
        let version = try Self.version(context)
        guard let view = try services.releases.rolloutView(version: version, withNodes: true) else {
            throw .notFound("no rollout \(version)")
        }
        return try encode(view)
    }

    func transition(_ context: CoordinatorRequestContext, to state: RolloutState, from: [RolloutState]) throws(CoordinatorError) -> Response {
        let version = try Self.version(context)
        guard let current = try services.store.rolloutState(version: version) else { throw .notFound("no rollout \(version)") }
        let reason = state == .paused ? "paused by the operator" : state == .aborted ? "aborted by the operator" : nil
        guard try services.store.setRolloutState(version: version, to: state, reason: reason, from: from) else {
            throw CoordinatorError(.conflict, "rollout \(version) is \(current.state.rawValue); cannot \(Self.verb(state)) it")
        }
        services.logger.info("rollout \(Self.verb(state))d", metadata: ["version": "\(version)"])
        services.rollouts.poke()
        guard let view = try services.releases.rolloutView(version: version, withNodes: false) else { throw .notFound("no rollout \(version)") }
        return try encode(view)
    }

    func rollback(_ request: Request) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(RollbackRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        let result = try services.releases.rollback(group: body.group)
        services.rollouts.poke()
        return try encode(result, status: .created)
    }

    func rotateSigning(_ request: Request) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(KeyRotationRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        let trust = services.releases.trust
        let view: KeysView
        let reset = body.resetReleaseFloor ?? false
        if let text = body.rootKey {
            view = try trust.rotateSigningKey(withOfflineRoot: try SigningKey.parse(text, source: "root_key"), resetReleaseFloor: reset)
        } else {
            view = try trust.rotateSigningKey(resetReleaseFloor: reset)
        }
        services.logger.info("signing key rotated", metadata: ["root_version": "\(view.rootVersion)", "release_floor_reset": "\(reset)"])
        try resealAfterRotation()
        return try encode(KeyRotationResponse(keys: view, rootKey: nil))
    }

    func rotateRoot(_ request: Request) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(KeyRotationRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        let supplied = try body.rootKey.map { (text: String) throws(CoordinatorError) -> SigningKey in
            try SigningKey.parse(text, source: "root_key")
        }
        // Whoever supplies the current root key proves the authority to replace it; otherwise
        // the coordinator's own root key is used, which takes access to its data directory.
        if supplied == nil { try requireLocalAccess(request, to: "replace the root key") }
        let keep = body.keepRootOnline ?? (supplied == nil)
        let (view, newRoot) = try services.releases.trust.rotateRoot(oldRoot: supplied, keepNewRootOnline: keep)
        services.logger.info("root key rotated", metadata: ["root_version": "\(view.rootVersion)", "online": "\(keep)"])
        try resealAfterRotation()
        return try encode(KeyRotationResponse(keys: view, rootKey: keep ? nil : newRoot.fileText))
    }

    func exportRoot(_ request: Request) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(ExportRootRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        try requireLocalAccess(request, to: "export the root key")
        let text = try services.releases.trust.exportRoot(remove: body.remove)
        services.logger.warning("root key exported", metadata: ["removed_from_coordinator": "\(body.remove)"])
        return try encode(KeyRotationResponse(keys: services.releases.trust.view(), rootKey: text))
    }

    /// Refuses unless the request carries the data directory's `local.key` (see `AdminCredentials`).
    private func requireLocalAccess(_ request: Request, to action: String) throws(CoordinatorError) {
        guard let key = request.headers[HTTPField.Name(AdminCredentials.localKeyHeader)!], services.credentials.isLocalKey(key) else {
            throw CoordinatorError(.localAccessRequired,
                                   "to \(action), run the command on the coordinator's machine with --data-dir (an admin token alone is not enough)")
        }
    }

    /// Current releases signed again with the new signing key, so nodes that check the new root
    /// document first still accept them.
    private func resealAfterRotation() throws(CoordinatorError) {
        try services.releases.resealAll()
    }

    private static func version(_ context: CoordinatorRequestContext) throws(CoordinatorError) -> Int64 {
        guard let text = context.parameters.get("version"), let version = Int64(text), version > 0 else {
            throw .invalidRequest("a rollout is named by its release version (a positive integer)")
        }
        return version
    }

    private static func verb(_ state: RolloutState) -> String {
        switch state {
        case .paused: "pause"
        case .running: "resume"
        case .aborted: "abort"
        case .completed: "complete"
        case .superseded: "supersede"
        }
    }

    private func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws(CoordinatorError) -> Response {
        do { return try JSONBody.response(value, status: status) } catch { throw .internal("cannot encode response: \(error)") }
    }
}
