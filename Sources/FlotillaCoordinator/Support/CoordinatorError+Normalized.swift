import FlotillaProtocol
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension CoordinatorError {
    /// `x-request-id`: the gateway's id of a call, and the id an internal failure is logged under.
    static let requestIDHeader = HTTPField.Name("x-request-id")!

    /// Whatever a handler threw, as the error the caller is shown, whichever shape renders it:
    /// the coordinator's own errors as they are, framework errors (unknown route, body too large)
    /// with their codes, and anything internal concealed behind a request id.
    static func normalized(_ error: any Error, request: Request, logger: Logger, requestID: String? = nil) -> CoordinatorError {
        switch error {
        case let error as CoordinatorError:
            guard error.code == .internal, error.headers[requestIDHeader] == nil else { return error }
            return concealing(error.message, path: request.uri.path, logger: logger, requestID: requestID)
        case is NIOTooManyBytesError:
            return CoordinatorError(.bodyTooLarge, "request body is too large")
        case let error as HTTPError:
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
            return CoordinatorError(code, message, headers: error.headers)
        default:
            return concealing("\(error)", path: request.uri.path, logger: logger, requestID: requestID)
        }
    }

    /// What a caller sees of an internal failure: a request id, never the detail (SQL text,
    /// paths). The detail is logged under that id (the gateway call's own, or a new one), so an
    /// operator can find it.
    static func concealing(_ detail: String, path: String, logger: Logger, requestID: String? = nil) -> CoordinatorError {
        let id = requestID ?? Secrets.shortID()
        logger.error("request failed", metadata: ["request_id": "\(id)", "path": "\(path)", "error": "\(detail)"])
        var headers = HTTPFields()
        headers[requestIDHeader] = id
        return CoordinatorError(.internal, "internal error (request id \(id); the coordinator's log has the details)", headers: headers)
    }
}
