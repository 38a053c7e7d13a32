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
        } catch let error as CoordinatorError {
            if error.code == .internal {
                return try CoordinatorError.concealing(error.message, path: request.uri.path, logger: context.logger)
                    .response(from: request, context: context)
            }
            return try error.response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return CoordinatorError.jsonResponse(code: .bodyTooLarge, message: "request body is too large", headers: [:])
        } catch let error as HTTPError {
            let code: APIErrorCode =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .bodyTooLarge
                case .unauthorized: .unauthorized
                case .tooManyRequests: .rateLimited
                default: error.status.code < 500 ? .invalidRequest : .internal
                }
            let message = error.body ?? (code == .notFound ? "no route for \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return CoordinatorError.jsonResponse(code: code, message: message, headers: error.headers)
        } catch {
            return try CoordinatorError.concealing("\(error)", path: request.uri.path, logger: context.logger)
                .response(from: request, context: context)
        }
    }
}
