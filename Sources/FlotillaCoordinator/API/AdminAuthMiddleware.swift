import FlotillaProtocol
import HTTPTypes
import Hummingbird

/// Admits admin requests carrying `Authorization: Bearer <admin token>`. Only the token's SHA-256
/// is held (from the data directory, never the database); the comparison runs in constant time.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let credentials: AdminCredentials

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw CoordinatorError(.unauthorized, "admin endpoints need Authorization: Bearer <admin token>")
        }
        guard credentials.isAdminToken(String(header.dropFirst("Bearer ".count))) else {
            throw CoordinatorError(.unauthorized, "admin token is not valid for this coordinator")
        }
        return try await next(request, context)
    }
}
