import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// How long the gateway waits on a provider.
public struct UpstreamTimeouts: Sendable {
    /// To open a connection (TCP and TLS).
    public var connect: TimeAmount
    /// From sending the request to the response headers.
    public var firstByte: TimeAmount
    /// The longest silence from the provider, before or during the answer.
    public var idle: TimeAmount

    public init(connect: TimeAmount = .seconds(10), firstByte: TimeAmount = .seconds(600), idle: TimeAmount = .seconds(600)) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
    }
}

/// The gateway's connections to providers: one pooled AsyncHTTPClient that only ever connects
/// to a configured `base_url` (callers never choose a URL), verifies TLS against the system trust
/// store plus any `--upstream-ca`, follows no redirect, and gives streamed bodies back as they
/// arrive.
final class UpstreamClient: Sendable {
    private let http: HTTPClient
    private let timeouts: UpstreamTimeouts

    init(eventLoopGroup: any EventLoopGroup, timeouts: UpstreamTimeouts, extraTrustRoots: [NIOSSLCertificate] = []) {
        self.timeouts = timeouts
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if !extraTrustRoots.isEmpty { tls.additionalTrustRoots = [.certificates(extraTrustRoots)] }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: timeouts.connect, read: timeouts.idle)
        )
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        configuration.decompression = .disabled
        // The coordinator bootstraps no tracer; with the default no-op one the client would still
        // parse each request's URL for span attributes nobody reads.
        configuration.tracing.tracer = nil
        http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// The path appended to a provider's `base_url` for `endpoint`.
    static func path(_ endpoint: GatewayEndpoint) -> String {
        switch endpoint {
        case .chatCompletions: "/chat/completions"
        case .embeddings: "/embeddings"
        case .messages: "/messages"
        }
    }

    /// Sends `body` to the route's provider with its key; returns once the response headers
    /// arrived, within the route's first-byte timeout or else the coordinator's. Failures become
    /// `upstream_unreachable` or `upstream_timeout`.
    func send(
        route: GatewayCatalog.Route, endpoint: GatewayEndpoint, key: String, body: ByteBuffer, stream: Bool,
        callerHeaders: HTTPFields
    ) async throws(CoordinatorError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: route.baseURL + Self.path(endpoint))
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
        request.headers.add(name: "user-agent", value: "flotilla-gateway")
        switch route.kind {
        case .openai:
            request.headers.add(name: "authorization", value: "Bearer " + key)
            if let beta = callerHeaders[HTTPField.Name("openai-beta")!] { request.headers.add(name: "openai-beta", value: beta) }
        case .anthropic:
            request.headers.add(name: "x-api-key", value: key)
            request.headers.add(name: "anthropic-version", value: callerHeaders[HTTPField.Name("anthropic-version")!] ?? "2023-06-01")
            if let beta = callerHeaders[HTTPField.Name("anthropic-beta")!] { request.headers.add(name: "anthropic-beta", value: beta) }
        }
        request.body = .bytes(body)
        do {
            return try await http.execute(request, deadline: .now() + (route.firstByteTimeout ?? timeouts.firstByte))
        } catch {
            throw Self.describe(error, provider: route.provider)
        }
    }

    /// A caller-safe error for an answer that broke off after its headers: a stall past the idle
    /// timeout, or a lost connection.
    static func describeMidAnswer(_ error: any Error, provider: String) -> CoordinatorError {
        if let error = error as? HTTPClientError, error == .readTimeout || error == .deadlineExceeded {
            return CoordinatorError(.upstreamTimeout, "provider '\(provider)' stopped sending mid-answer")
        }
        return CoordinatorError(.upstreamError, "provider '\(provider)' broke off its answer")
    }

    /// A caller-safe error for a failed exchange with `provider` (no URL, no internal detail).
    static func describe(_ error: any Error, provider: String) -> CoordinatorError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout:
                return CoordinatorError(.upstreamTimeout, "provider '\(provider)' did not answer in time")
            case .connectTimeout:
                return CoordinatorError(.upstreamUnreachable, "provider '\(provider)' could not be reached (connect timeout)")
            case .remoteConnectionClosed:
                return CoordinatorError(.upstreamError, "provider '\(provider)' closed the connection")
            default:
                break
            }
        }
        if error is NIOSSLError || error is BoringSSLError || String(describing: error).contains("handshake") {
            return CoordinatorError(.upstreamUnreachable, "provider '\(provider)' could not be reached (TLS: its certificate is not trusted)")
        }
        return CoordinatorError(.upstreamUnreachable, "provider '\(provider)' could not be reached")
    }
}
