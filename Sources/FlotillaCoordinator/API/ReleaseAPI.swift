import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The release endpoints nodes call over mutual TLS (docs/releases.md): the trust chain, the
/// long poll for their release, content-addressed files, and progress reports.
struct ReleaseAPI {
    let services: CoordinatorServices
    /// Longest long-poll wait a node may ask for.
    static let maxWaitSeconds = 60.0

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        let nodes = router.group().add(middleware: NodeAuthMiddleware(services: services))
        nodes.get("/v1/trust") { _, _ in try trust() }
        nodes.get("/v1/release") { request, context in try await release(request, context) }
        nodes.get("/v1/blobs/:sha256") { _, context in try await blob(context) }
        nodes.post("/v1/release/report") { request, context in try await report(request, context) }
    }

    func trust() throws(CoordinatorError) -> Response {
        return Self.bytes(try services.releases.trust.trustResponseBody(), contentType: "application/json")
    }

    func release(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let node = try context.requireNode().record
        let seen = request.uri.queryParameters.get("seen") ?? ""
        guard seen.isEmpty || Self.isHexDigest(seen) else { throw .invalidRequest("seen must be a SHA-256 in hex") }
        var wait = 0.0
        if let text = request.uri.queryParameters.get("wait") {
            guard let value = Double(text), value >= 0, value.isFinite else { throw .invalidRequest("wait must be a number of seconds") }
            wait = min(value, Self.maxWaitSeconds)
        }
        let found = await services.releases.board.wait(
            nodeID: node.id, group: node.group, seen: seen, timeout: .milliseconds(Int64(wait * 1000))
        )
        guard let found else { return Response(status: .noContent) }
        var response = Self.bytes(found.envelope, contentType: "application/json")
        response.headers[HTTPField.Name("X-Flotilla-Release-Version")!] = String(found.version)
        return response
    }

    func blob(_ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let node = try context.requireNode().record
        guard let sha = context.parameters.get("sha256"), Self.isHexDigest(sha) else {
            throw .invalidRequest("a blob is named by its SHA-256 in lowercase hex")
        }
        let group = services.releases.board.desired(nodeID: node.id, group: node.group)?.group ?? node.group
        guard let data = try await services.store.blob(sha256: sha, group: group) else {
            throw .notFound("no file \(sha) in the releases of group \(group)")
        }
        return Self.bytes(data, contentType: "application/octet-stream")
    }

    func report(_ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        let node = try context.requireNode().record
        let body = try await JSONBody.decode(ReleaseReport.self, from: request, limit: WireLimits.nodeBodyBytes)
        guard body.version > 0 else { throw .invalidRequest("version must be positive") }
        if let code = body.errorCode, code.utf8.count > 64 { throw .invalidRequest("error_code is too long") }
        var report = body
        report.message = body.message.map { String($0.prefix(1024)) }
        let group = services.releases.board.desired(nodeID: node.id, group: node.group)?.group ?? node.group
        try await services.reports.submit(nodeID: node.id, group: group, report: report)
        if report.status == .failed || report.status == .rolledBack {
            services.logger.warning("node release failed", metadata: [
                "node": "\(node.name)", "version": "\(report.version)", "status": "\(report.status.rawValue)",
                "code": "\(report.errorCode ?? "-")",
            ])
        }
        return Self.bytes(Data("{}".utf8), contentType: "application/json")
    }

    static func isHexDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func bytes(_ data: Data, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
