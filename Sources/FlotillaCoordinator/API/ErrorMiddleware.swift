import FlotillaProtocol
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every error into the JSON error body, so clients never see an empty or HTML error:
/// the coordinator's own errors pass through, framework errors (unknown route, body too large)
/// are mapped to their codes, and anything else becomes `internal` and is logged.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try CoordinatorError.normalized(error, request: request, logger: context.logger).response(from: request, context: context)
        }
    }
}
