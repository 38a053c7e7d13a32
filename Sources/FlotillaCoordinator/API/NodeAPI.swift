import X509
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The endpoints boards call: enrollment (TLS + token), heartbeats, renewal and their gateway
/// key (mutual TLS, authenticated by `NodeAuthMiddleware`).
struct NodeAPI {
    let services: CoordinatorServices

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        router.post("/v1/enroll") { request, context in try await enroll(request, context) }
        let nodes = router.group().add(middleware: NodeAuthMiddleware(services: services))
        nodes.post("/v1/heartbeat") { request, context in try await heartbeat(request, context) }
        nodes.post("/v1/gateway-key") { _, context in try await gatewayKey(context) }
        // A pending node gets no certificate beyond the one it enrolled with.
        nodes.post("/v1/renew") { request, context in try await renew(request, context) }
    }

    /// Enrolls a board; failed attempts count against the caller's address (`FailureThrottle`).
    func enroll(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let source = context.remoteAddress
        try services.enrollThrottle.begin(source)
        do {
            let (response, state) = try await enrollChecked(request, context)
            services.enrollThrottle.succeeded(source)
            services.metrics.enrollment(outcome: state == .pending ? "pending" : "accepted")
            return response
        } catch {
            services.metrics.enrollment(outcome: error.code.rawValue)
            throw error
        }
    }

    private func enrollChecked(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> (Response, NodeAdminState) {
        let body = try await JSONBody.decode(EnrollRequest.self, from: request, limit: WireLimits.nodeBodyBytes)
        guard NameRules.isValidNodeName(body.name) else {
            throw .invalidRequest("node name must be 1-63 of A-Z a-z 0-9 . _ - and start with a letter or digit")
        }
        guard !body.token.isEmpty else { throw CoordinatorError(.tokenInvalid, "enrollment token is empty") }
        let now = Date()
        let nodeID = UUID().uuidString.lowercased()
        let gatewayKey = NodeKeyService.make(nodeID: nodeID, now: now)
        let (node, issued) = try await services.store.enroll(
            tokenHash: Secrets.hash(body.token), name: body.name, nodeID: nodeID, now: now, gatewayKey: gatewayKey.record
        ) { (id: String) throws(CoordinatorError) -> IssuedCertificate in
            let certificate = try services.ca.issueNodeCertificate(
                csrPEM: body.csrPEM, nodeID: id, validity: services.nodeCertificateValidity, now: now
            )
            do {
                return IssuedCertificate(pem: try certificate.pemString, expiresAt: certificate.notValidAfter,
                                         serial: certificate.serialHex)
            } catch {
                throw .internal("cannot encode certificate: \(error)")
            }
        }
        services.nodeKeys.publish(gatewayKey.record)
        await services.nodeChanged(node)
        await services.bus.publish(.gatewayKey(nodeID: node.id))
        services.logger.info(
            "node enrolled",
            metadata: ["node": "\(node.name)", "id": "\(node.id)", "group": "\(node.group)", "state": "\(node.adminState.rawValue)", "from": "\(context.remoteAddress)"]
        )
        let response = EnrollResponse(
            nodeID: node.id, name: node.name, group: node.group, status: node.adminState,
            certificatePEM: issued.pem, caPEM: services.ca.certificatePEM,
            certificateExpiresAt: Timestamps.rfc3339(issued.expiresAt),
            heartbeatIntervalSeconds: Int(services.heartbeatInterval), gatewayKey: gatewayKey.key
        )
        return (try JSONBody.encoded(response, status: .created), node.adminState)
    }

    func heartbeat(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let now = Date()
        let node = try context.requireNode()
        let body = try await JSONBody.collect(request, limit: WireLimits.nodeBodyBytes)
        let readings: HeartbeatRequest
        if let fast = HeartbeatDecoder.decode(Array(body.readableBytesView)) {
            readings = fast
        } else {
            readings = try JSONBody.decode(HeartbeatRequest.self, from: body)
        }
        try HeartbeatValidation.validate(readings)
        try await services.writer.submit(nodeID: node.id, readings: readings)
        services.metrics.heartbeatReceived()
        let response = HeartbeatResponse(
            status: .active, heartbeatIntervalSeconds: Int(services.heartbeatInterval),
            renewCertificate: node.certificate?.shouldRenew(at: now) ?? false, serverTime: HeartbeatJSON.serverTime(now),
            gatewayKeyID: services.nodeKeys.keyID(nodeID: node.id)
        )
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: HeartbeatJSON.response(response))
        )
    }

    func renew(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let now = Date()
        let node = try context.requireNode().record
        let body = try await JSONBody.decode(RenewRequest.self, from: request, limit: WireLimits.nodeBodyBytes)
        let certificate = try services.ca.issueNodeCertificate(
            csrPEM: body.csrPEM, nodeID: node.id, validity: services.nodeCertificateValidity, now: now
        )
        let updated = try await services.store.storeRenewedCertificate(nodeID: node.id, serial: certificate.serialHex,
                                                                 expiresAt: certificate.notValidAfter)
        await services.nodeChanged(updated)
        services.logger.info("node certificate renewed", metadata: ["node": "\(node.name)"])
        let pem: String
        do { pem = try certificate.pemString } catch { throw .internal("cannot encode certificate: \(error)") }
        let response = RenewResponse(
            certificatePEM: pem, certificateExpiresAt: Timestamps.rfc3339(certificate.notValidAfter),
            caPEM: services.ca.certificatePEM
        )
        return try JSONBody.encoded(response, status: .ok)
    }

    /// A new gateway key for the calling node (its first, after a rotation, or when it lost its
    /// copy). Only over mutual TLS: a gateway key cannot mint keys.
    func gatewayKey(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let node = try context.requireNode()
        let issued = try await services.nodeKeys.issue(nodeID: node.id)
        services.logger.info("gateway key issued", metadata: ["node": "\(node.record.name)", "key_id": "\(issued.record.keyID)"])
        return try JSONBody.encoded(GatewayKeyResponse(gatewayKey: issued.key, gatewayKeyID: issued.record.keyID), status: .ok)
    }
}
