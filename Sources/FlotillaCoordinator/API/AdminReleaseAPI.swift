import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Admin endpoints for releases, rollouts and the signing keys.
struct AdminReleaseAPI {
    let services: CoordinatorServices

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.post("releases") { request, context in try await publish(request, context) }
        group.get("rollouts") { _, _ in try await listRollouts() }
        group.get("rollouts/:version") { _, context in try await showRollout(context) }
        group.post("rollouts/rollback") { request, context in try await rollback(request, context) }
        group.post("rollouts/:version/pause") { _, context in try await transition(context, to: .paused) }
        group.post("rollouts/:version/resume") { _, context in try await transition(context, to: .running) }
        group.post("rollouts/:version/abort") { _, context in try await transition(context, to: .aborted) }
        group.get("keys") { _, _ in try JSONBody.encoded(services.releases.trust.view()) }
        group.post("keys/rotate-signing") { request, context in try await rotateSigning(request, context) }
        group.post("keys/rotate-root") { request, context in try await rotateRoot(request, context) }
        group.post("keys/export-root") { request, context in try await exportRoot(request, context) }
    }

    func publish(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(PublishRequest.self, from: request, limit: WireLimits.publishBodyBytes)
        let keysSet = Set(try await services.vault.listSecrets().map(\.provider))
        let result = try await services.releases.publish(
            body, gateway: ReleaseService.GatewayPublishing(service: services.gatewayConfig, keysSet: keysSet)
        )
        await services.fleetChanged()
        if !body.dryRun {
            var details: [String: String] = [:]
            let changed = result.groups.filter(\.changed).map(\.group)
            if !changed.isEmpty { details["groups"] = changed.joined(separator: ",") }
            if let gateway = result.gateway { details["gateway_changed"] = "\(gateway.changed)" }
            await services.audit(AuditRecord("release.apply", target: result.releaseVersion.map { "\($0)" } ?? "", details: details), context)
        }
        return try JSONBody.encoded(result, status: result.releaseVersion == nil ? .ok : .created)
    }

    func listRollouts() async throws(CoordinatorError) -> Response {
        try await JSONBody.encoded(try services.releases.rolloutViews(try services.store.allRolloutVersions(limit: 100)))
    }

    func showRollout(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let version = try Self.version(context)
        guard let view = try await services.releases.rolloutView(version: version, withNodes: true) else {
            throw .notFound("no rollout \(version)")
        }
        return try JSONBody.encoded(view)
    }

    func transition(_ context: CoordinatorRequestContext, to state: RolloutState) async throws(CoordinatorError) -> Response {
        let view = try await transition(version: try Self.version(context), to: state, context)
        return try JSONBody.encoded(view)
    }

    /// Pauses, resumes or aborts rollout `version`, audited; `conflict` from any other state.
    func transition(version: Int64, to state: RolloutState, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> RolloutView {
        let from: [RolloutState] = switch state {
        case .paused: [.running]
        case .running: [.paused]
        default: [.running, .paused]
        }
        guard let current = try await services.store.rolloutState(version: version) else { throw .notFound("no rollout \(version)") }
        let reason = state == .paused ? "paused by the operator" : state == .aborted ? "aborted by the operator" : nil
        guard try await services.store.setRolloutState(version: version, to: state, reason: reason, from: from) else {
            throw CoordinatorError(.conflict, "rollout \(version) is \(current.state.rawValue); cannot \(Self.verb(state)) it")
        }
        services.logger.info("rollout \(Self.verb(state))d", metadata: ["version": "\(version)"])
        await services.fleetChanged()
        await services.audit(AuditRecord("rollout." + Self.verb(state), target: "\(version)"), context)
        guard let view = try await services.releases.rolloutView(version: version, withNodes: false) else { throw .notFound("no rollout \(version)") }
        return view
    }

    func rollback(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(RollbackRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        return try JSONBody.encoded(try await rollback(group: body.group, context), status: .created)
    }

    /// Rolls `group` (nil: every group) back to its previous release, audited.
    func rollback(group: String?, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> PublishResponse {
        let result = try await services.releases.rollback(group: group)
        await services.fleetChanged()
        await services.audit(AuditRecord("rollout.rollback", target: group ?? "", details: [
            "release_version": result.releaseVersion.map { "\($0)" } ?? "none",
            "groups": result.groups.filter(\.changed).map(\.group).joined(separator: ","),
        ]), context)
        return result
    }

    func rotateSigning(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(KeyRotationRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        let reset = body.resetReleaseFloor ?? false
        let offlineRoot = try body.rootKey.map { (text: String) throws(CoordinatorError) -> SigningKey in
            try SigningKey.parse(text, source: "root_key")
        }
        let view = try await services.releases.rotateSigningKey(offlineRoot: offlineRoot, resetReleaseFloor: reset)
        services.logger.info("signing key rotated", metadata: ["root_version": "\(view.rootVersion)", "release_floor_reset": "\(reset)"])
        await services.audit(AuditRecord("keys.rotate_signing", details: [
            "root_version": "\(view.rootVersion)", "release_floor_reset": "\(reset)", "offline_root": "\(body.rootKey != nil)",
        ]), context)
        return try JSONBody.encoded(KeyRotationResponse(keys: view, rootKey: nil))
    }

    func rotateRoot(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(KeyRotationRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        let supplied = try body.rootKey.map { (text: String) throws(CoordinatorError) -> SigningKey in
            try SigningKey.parse(text, source: "root_key")
        }
        // Whoever supplies the current root key proves the authority to replace it; otherwise
        // the coordinator's own root key is used, which takes access to its data directory.
        if supplied == nil { try requireLocalAccess(request, to: "replace the root key") }
        let keep = body.keepRootOnline ?? (supplied == nil)
        let (view, newRoot) = try await services.releases.rotateRoot(oldRoot: supplied, keepNewRootOnline: keep)
        services.logger.info("root key rotated", metadata: ["root_version": "\(view.rootVersion)", "online": "\(keep)"])
        await services.audit(AuditRecord("keys.rotate_root", details: [
            "root_version": "\(view.rootVersion)", "new_root_online": "\(keep)", "offline_root": "\(supplied != nil)",
        ]), context)
        return try JSONBody.encoded(KeyRotationResponse(keys: view, rootKey: keep ? nil : newRoot.fileText))
    }

    func exportRoot(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(ExportRootRequest.self, from: request, limit: WireLimits.adminBodyBytes)
        try requireLocalAccess(request, to: "export the root key")
        let text = try await services.releases.trust.exportRoot(remove: body.remove)
        services.logger.warning("root key exported", metadata: ["removed_from_coordinator": "\(body.remove)"])
        await services.audit(AuditRecord("keys.export_root", details: ["removed_from_coordinator": "\(body.remove)"]), context)
        return try JSONBody.encoded(KeyRotationResponse(keys: services.releases.trust.view(), rootKey: text))
    }

    /// Refuses unless the request carries the data directory's `local.key` (see `AdminCredentials`).
    private func requireLocalAccess(_ request: Request, to action: String) throws(CoordinatorError) {
        guard let key = request.headers[AdminCredentials.localKeyHeader], services.credentials.isLocalKey(key) else {
            throw CoordinatorError(.localAccessRequired,
                                   "to \(action), run the command on the coordinator's machine with --data-dir (an admin token alone is not enough)")
        }
    }

    /// The rollout a route names by its `:version`.
    static func version(_ context: CoordinatorRequestContext) throws(CoordinatorError) -> Int64 {
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
}
