import NIOFoundationCompat
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading request bodies and writing JSON responses with the coordinator's limits and error codes.
enum JSONBody {
    /// Collects at most `limit` bytes and decodes them as `T`.
    /// Throws `body_too_large` past the limit and `invalid_json` when the shape is wrong.
    static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, limit: Int
    ) async throws(CoordinatorError) -> T {
        try decode(T.self, from: try await collect(request, limit: limit))
    }

    /// Collects at most `limit` bytes of the body, or throws `body_too_large`.
    static func collect(_ request: Request, limit: Int) async throws(CoordinatorError) -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw CoordinatorError(.bodyTooLarge, "request body is over the \(limit / 1024) KiB limit")
        } catch {
            throw CoordinatorError(.invalidJSON, "request body could not be read")
        }
    }

    /// Decodes `buffer` as `T`, or throws `invalid_json` describing what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws(CoordinatorError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw CoordinatorError(.invalidJSON, describe(error))
        } catch {
            throw CoordinatorError(.invalidJSON, "request body is not valid JSON")
        }
    }

    /// A JSON response with `status`.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// `response(_:status:)` with an encoding failure as an internal error.
    static func encoded(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws(CoordinatorError) -> Response {
        do { return try response(value, status: status) } catch { throw .internal("cannot encode response: \(error)") }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _): return "missing required key \"\(key.stringValue)\""
        case .typeMismatch(_, let context): return "wrong type at \(path(context))"
        case .valueNotFound(_, let context): return "null where a value is required at \(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "request body is not valid JSON" : "invalid value at \(path(context))"
        @unknown default: return "request body does not have the expected shape"
        }
    }
}
