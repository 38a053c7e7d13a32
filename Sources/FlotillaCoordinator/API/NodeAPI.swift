import X509
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The endpoints boards call: enrollment (TLS + token), heartbeats and renewal (mutual TLS).
struct NodeAPI {
    let services: CoordinatorServices

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        router.post("/v1/enroll") { request, context in try await enroll(request, context) }
        router.post("/v1/heartbeat") { request, context in try await heartbeat(request, context) }
        router.post("/v1/renew") { request, context in try await renew(request, context) }
    }

    func enroll(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let body = try await JSONBody.decode(EnrollRequest.self, from: request, limit: WireLimits.nodeBodyBytes)
        guard NameRules.isValidNodeName(body.name) else {
            throw .invalidRequest("node name must be 1-63 of A-Z a-z 0-9 . _ - and start with a letter or digit")
        }
        guard !body.token.isEmpty else { throw CoordinatorError(.tokenInvalid, "enrollment token is empty") }
        let now = Date()
        let nodeID = UUID().uuidString.lowercased()
        let (node, issued) = try services.store.enroll(
            tokenHash: Secrets.hash(body.token), name: body.name, nodeID: nodeID, now: now
        ) { (id: String) throws(CoordinatorError) -> IssuedCertificate in
            let certificate = try services.ca.issueNodeCertificate(
                csrPEM: body.csrPEM, nodeID: id, validity: services.nodeCertificateValidity, now: now
            )
            do {
                return IssuedCertificate(pem: try certificate.pemString, expiresAt: certificate.notValidAfter)
            } catch {
                throw .internal("cannot encode certificate: \(error)")
            }
        }
        services.directory.publish(node)
        services.logger.info(
            "node enrolled",
            metadata: ["node": "\(node.name)", "id": "\(node.id)", "group": "\(node.group)", "state": "\(node.adminState.rawValue)", "from": "\(context.remoteAddress)"]
        )
        let response = EnrollResponse(
            nodeID: node.id, name: node.name, group: node.group, status: node.adminState,
            certificatePEM: issued.pem, caPEM: services.ca.certificatePEM,
            certificateExpiresAt: Timestamps.rfc3339(issued.expiresAt),
            heartbeatIntervalSeconds: Int(services.heartbeatInterval)
        )
        return try encode(response, status: .created)
    }

    func heartbeat(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let now = Date()
        let (identity, _) = try await services.authenticateNode(context, now: now, allowPending: false)
        let body = try await JSONBody.collect(request, limit: WireLimits.nodeBodyBytes)
        let readings: HeartbeatRequest
        if let fast = HeartbeatDecoder.decode(Array(body.readableBytesView)) {
            readings = fast
        } else {
            readings = try JSONBody.decode(HeartbeatRequest.self, from: body)
        }
        try HeartbeatValidation.validate(readings)
        try await services.writer.submit(nodeID: identity.nodeID, readings: readings)
        let response = HeartbeatResponse(
            status: .active, heartbeatIntervalSeconds: Int(services.heartbeatInterval),
            renewCertificate: identity.shouldRenew(at: now), serverTime: HeartbeatJSON.serverTime(now)
        )
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: HeartbeatJSON.response(response))
        )
    }

    func renew(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let now = Date()
        let (identity, node) = try await services.authenticateNode(context, now: now, allowPending: true)
        let body = try await JSONBody.decode(RenewRequest.self, from: request, limit: WireLimits.nodeBodyBytes)
        let certificate = try services.ca.issueNodeCertificate(
            csrPEM: body.csrPEM, nodeID: identity.nodeID, validity: services.nodeCertificateValidity, now: now
        )
        try services.store.setCertificateExpiry(nodeID: node.id, certificate.notValidAfter)
        var updated = node
        updated.certificateExpiresAt = certificate.notValidAfter
        services.directory.publish(updated)
        services.logger.info("node certificate renewed", metadata: ["node": "\(node.name)"])
        let pem: String
        do { pem = try certificate.pemString } catch { throw .internal("cannot encode certificate: \(error)") }
        let response = RenewResponse(
            certificatePEM: pem, certificateExpiresAt: Timestamps.rfc3339(certificate.notValidAfter),
            caPEM: services.ca.certificatePEM
        )
        return try encode(response, status: .ok)
    }

    private func encode(_ value: some Encodable, status: HTTPResponse.Status) throws(CoordinatorError) -> Response {
        do { return try JSONBody.response(value, status: status) } catch { throw .internal("cannot encode response: \(error)") }
    }
}
