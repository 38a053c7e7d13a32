import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Which client API a gateway route speaks, and so the shape of its errors.
enum GatewayAPIShape: Sendable {
    /// `{"error": {"message", "type", "param", "code"}}` (OpenAI's API reference, "Error codes";
    /// `openai-python`: `src/openai/_exceptions.py` reads `error.code` and `error.type`).
    case openAI
    /// `{"type": "error", "error": {"type", "message"}}` (Anthropic's API reference, "Errors";
    /// `anthropic-sdk-python`: `src/anthropic/_exceptions.py`). Our stable code rides along as
    /// `error.code`.
    case anthropic

    /// Anthropic clients send `anthropic-version` (both SDKs do on every request); everything
    /// else is answered the OpenAI way.
    static func of(_ request: Request) -> GatewayAPIShape {
        request.headers[HTTPField.Name("anthropic-version")!] != nil ? .anthropic : .openAI
    }

    /// The error body for `code` in this shape.
    func errorBody(_ code: APIErrorCode, _ message: String) -> [String: Any] {
        let status = code.httpStatus
        switch self {
        case .openAI:
            let type: String =
                switch status {
                case 403: "permission_error"
                case 429: "rate_limit_error"
                case 500...: "api_error"
                default: "invalid_request_error"
                }
            // OpenAI's out-of-money error type, so clients that handle it handle budgets too.
            let shown = code == .budgetExceeded ? "insufficient_quota" : type
            return ["error": ["message": message, "type": shown, "param": NSNull(), "code": code.rawValue] as [String: Any]]
        case .anthropic:
            let type: String =
                switch status {
                case 401: "authentication_error"
                case 403: "permission_error"
                case 404: "not_found_error"
                case 413: "request_too_large"
                case 429: "rate_limit_error"
                case 500...: "api_error"
                default: "invalid_request_error"
                }
            return ["type": "error", "error": ["type": type, "message": message, "code": code.rawValue]]
        }
    }

    /// An error response in this shape (with `headers` and the error's own).
    func response(_ error: CoordinatorError, requestID: String?, headers: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: errorBody(error.code, error.message), options: [.sortedKeys])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        if let requestID { fields[CoordinatorError.requestIDHeader] = requestID }
        for field in CoordinatorError.retryHeaders(error.retryAfter) + error.headers { fields[field.name] = field.value }
        return Response(status: HTTPResponse.Status(code: error.code.httpStatus), headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Header names the gateway sets.
enum GatewayHeaders {
    /// The provider's own request id, for support tickets with the provider.
    static let upstreamRequestID = HTTPField.Name("x-upstream-request-id")!
    /// Set when a budget's `downgrade:` moved the call to a cheaper model:
    /// `fleet-default -> fleet-cheap (node board-01 at 82% of its daily budget)`.
    static let downgrade = HTTPField.Name("x-flotilla-downgrade")!
}

/// Renders every error of a gateway route in the caller's API shape (a fixed shape, or chosen
/// per request for `GET /v1/models`), so SDKs raise their typed errors.
struct GatewayErrorMiddleware: RouterMiddleware {
    typealias Context = CoordinatorRequestContext
    /// Nil: decide per request (`GatewayAPIShape.of`).
    let shape: GatewayAPIShape?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return (shape ?? .of(request)).response(CoordinatorError.normalized(error, request: request, logger: context.logger), requestID: nil)
        }
    }
}
