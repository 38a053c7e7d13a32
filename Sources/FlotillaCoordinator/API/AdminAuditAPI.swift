import FlotillaProtocol
import Foundation
import Hummingbird

/// Admin endpoints of the audit log: the entries and the chain check.
struct AdminAuditAPI {
    let services: CoordinatorServices
    /// Most entries one listing returns (the newest ones).
    static let maxEntries = 10_000

    func addRoutes(to group: RouterGroup<CoordinatorRequestContext>) {
        group.get("audit") { request, _ in try await list(request) }
        group.get("audit/verify") { _, _ in try await verify() }
    }

    /// `?since_seconds=N` (default: all), `&limit=N` (default and maximum 10,000), oldest first.
    func list(_ request: Request) async throws(CoordinatorError) -> Response {
        let parameters = request.uri.queryParameters
        var since: Date?
        if let text = parameters.get("since_seconds") {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else { throw .invalidRequest("since_seconds must be a positive number") }
            since = Date().addingTimeInterval(-seconds)
        }
        var limit = Self.maxEntries
        if let text = parameters.get("limit") {
            guard let value = Int(text), (1...Self.maxEntries).contains(value) else {
                throw .invalidRequest("limit must be between 1 and \(Self.maxEntries)")
            }
            limit = value
        }
        let entries = try await services.auditLog.entries(since: since, limit: limit)
        return try JSONBody.encoded(entries.map(Self.view))
    }

    func verify() async throws(CoordinatorError) -> Response {
        let result = try await services.auditLog.verify()
        return try JSONBody.encoded(AuditVerifyReport(entries: result.entries, intact: result.problems.isEmpty, problems: result.problems))
    }

    static func view(_ entry: AuditEntry) -> AuditEntryView {
        let details = (try? JSONDecoder().decode([String: String].self, from: Data(entry.detailsJSON.utf8))) ?? [:]
        return AuditEntryView(sequence: entry.sequence, at: entry.at, actor: entry.actor, source: entry.source, action: entry.action,
                              target: entry.target, details: details, previousHash: entry.previousHash, hash: entry.hash)
    }
}
