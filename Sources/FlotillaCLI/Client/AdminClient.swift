import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOFoundationCompat
import NIOSSL

/// JSON over HTTPS to the coordinator's admin API, with the admin token as bearer.
public final class AdminClient: Sendable {
    private let connection: AdminConnection
    private let http: HTTPClient

    public init(connection: AdminConnection) throws {
        self.connection = connection
        var tls = TLSConfiguration.makeClientConfiguration()
        if let pem = connection.caPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a client and shuts it down afterwards, whatever happens.
    public static func with<T>(_ connection: AdminConnection, _ body: (AdminClient) async throws -> T) async throws -> T {
        let client = try AdminClient(connection: connection)
        do {
            let result = try await body(client)
            try? await client.http.shutdown()
            return result
        } catch {
            try? await client.http.shutdown()
            throw error
        }
    }

    public func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try decode(T.self, from: try await send(.GET, path, body: nil))
    }

    public func post<T: Decodable>(_ path: String, body: (some Encodable)?, as type: T.Type) async throws -> T {
        let data = try body.map { try JSONEncoder().encode($0) }
        return try decode(T.self, from: try await send(.POST, path, body: data))
    }

    /// A POST that also proves access to the coordinator's data directory (its `local.key`),
    /// for the root-key operations; fails before sending when this machine has no such key.
    public func postLocal<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type) async throws -> T {
        guard let key = connection.localKey else {
            throw CLIError("this needs the coordinator's data directory: run it on the coordinator's machine with --data-dir DIR",
                           code: "local_access_required")
        }
        return try decode(T.self, from: try await send(.POST, path, body: try JSONEncoder().encode(body), extra: [(AdminHeaders.localKey, key)]))
    }

    public func put<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type) async throws -> T {
        try decode(T.self, from: try await send(.PUT, path, body: try JSONEncoder().encode(body)))
    }

    public func delete(_ path: String) async throws {
        _ = try await send(.DELETE, path, body: nil)
    }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?, extra: [(String, String)] = []) async throws -> Data {
        var request = HTTPClientRequest(url: connection.serverURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(connection.token)")
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(60))
        } catch {
            throw CLIError("cannot reach the coordinator at \(connection.serverURL): \(error)")
        }
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer: buffer)
        guard (200..<300).contains(Int(response.status.code)) else {
            if let error = try? JSONDecoder().decode(ErrorBody.self, from: data) {
                throw CLIError(error.error.message, code: error.error.code)
            }
            throw CLIError("coordinator answered HTTP \(response.status.code)")
        }
        return data
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if T.self == EmptyResponse.self, data.isEmpty { return EmptyResponse() as! T }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw CLIError("unexpected response from the coordinator: \(error)")
        }
    }
}

/// Stand-in type for endpoints that answer with no body.
public struct EmptyResponse: Codable, Sendable {}
