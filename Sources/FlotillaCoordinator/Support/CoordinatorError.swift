import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The coordinator's one error type: a stable wire code plus a message for people.
///
/// Every failure a client can cause is thrown as this type and rendered once, here, as the JSON
/// error body with the code's HTTP status.
public struct CoordinatorError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: APIErrorCode
    public var message: String

    public init(_ code: APIErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, message) }
    static func notFound(_ message: String) -> Self { .init(.notFound, message) }
    static func `internal`(_ message: String) -> Self { .init(.internal, message) }
}

extension CoordinatorError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.jsonResponse(code: code, message: message, headers: [:])
    }

    /// Renders an error body; also used for errors raised outside the router (404, 413).
    static func jsonResponse(code: APIErrorCode, message: String, headers: HTTPFields) -> Response {
        let body = ErrorBody(code: code, message: message)
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"code":"internal","message":""}}"#.utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(
            status: HTTPResponse.Status(code: code.httpStatus),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
