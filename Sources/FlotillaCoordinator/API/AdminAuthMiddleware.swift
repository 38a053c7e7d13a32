import FlotillaProtocol
import HTTPTypes
import Hummingbird

/// Admits admin requests carrying `Authorization: Bearer <admin token>`. Only the token's SHA-256
/// is held (from the data directory, never the database); the comparison runs in constant time.
/// The caller is put into the context as the actor the audit log names.
struct AdminAuthMiddleware: RouterMiddleware {
    let credentials: AdminCredentials

    func handle(_ request: Request, context: CoordinatorRequestContext,
                next: (Request, CoordinatorRequestContext) async throws -> Response) async throws -> Response {
        guard let token = request.bearerToken else {
            throw CoordinatorError(.unauthorized, "admin endpoints need Authorization: Bearer <admin token>")
        }
        guard credentials.isAdminToken(token) else {
            throw CoordinatorError(.unauthorized, "admin token is not valid for this coordinator")
        }
        var context = context
        // The token was just checked to be the one in force: its fingerprint names the actor.
        context.actor = AuditActor(name: "cli:" + credentials.adminTokenFingerprint, source: context.remoteAddress)
        return try await next(request, context)
    }
}
