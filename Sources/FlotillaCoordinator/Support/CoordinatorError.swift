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
    /// Seconds after which the same request can succeed (429s): sent as `Retry-After` (whole
    /// seconds, rounded up) and `retry-after-ms`.
    public var retryAfter: Double?
    /// More headers for the response (the gateway's `x-ratelimit-*`).
    public var headers: HTTPFields

    public init(_ code: APIErrorCode, _ message: String, retryAfter: Double? = nil, headers: HTTPFields = [:]) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.headers = headers
    }

    /// `Retry-After` and `retry-after-ms` (read by the OpenAI and Anthropic SDKs) for `seconds`.
    static func retryHeaders(_ seconds: Double?) -> HTTPFields {
        guard let seconds else { return [:] }
        var fields = HTTPFields()
        // Rounded up (a retry before it would fail), after shedding floating-point dust.
        fields[.retryAfter] = String(Int(max(1, (seconds - 1e-9).rounded(.up))))
        fields[HTTPField.Name("retry-after-ms")!] = String(Int(max(1, (seconds * 1000 - 1e-6).rounded(.up))))
        return fields
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, message) }
    static func notFound(_ message: String) -> Self { .init(.notFound, message) }
    static func `internal`(_ message: String) -> Self { .init(.internal, message) }
}

extension CoordinatorError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        if code == .internal, headers[Self.requestIDHeader] == nil {
            return try Self.normalized(self, request: request, logger: context.logger).response(from: request, context: context)
        }
        var fields = headers
        fields.append(contentsOf: Self.retryHeaders(retryAfter))
        return Self.jsonResponse(code: code, message: message, headers: fields)
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
