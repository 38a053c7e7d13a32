import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// The LLM gateway endpoints nodes call (mutual TLS or gateway key): OpenAI-compatible
/// `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`, and Anthropic-compatible
/// `POST /v1/messages`. Bodies go to the provider unchanged but for the upstream model id (and
/// the usage request of OpenAI streams); answers stream back as they arrive; every call is
/// metered into the usage ledger before the caller has its last byte. A chat call to a model
/// whose provider speaks the other API is translated both ways (APITranslation,
/// TranslatingStream) and metered on the provider's own usage.
struct GatewayAPI {
    let services: CoordinatorServices

    func addRoutes(to router: Router<CoordinatorRequestContext>) {
        let auth = NodeAuthMiddleware(services: services, acceptsGatewayKey: true)
        let openAI = router.group("/v1").add(middleware: GatewayErrorMiddleware(shape: .openAI)).add(middleware: auth)
        openAI.post("chat/completions") { request, context in try await proxy(.chatCompletions, request, context) }
        openAI.post("embeddings") { request, context in try await proxy(.embeddings, request, context) }
        let anthropic = router.group("/v1").add(middleware: GatewayErrorMiddleware(shape: .anthropic)).add(middleware: auth)
        anthropic.post("messages") { request, context in try await proxy(.messages, request, context) }
        let either = router.group("/v1").add(middleware: GatewayErrorMiddleware(shape: nil)).add(middleware: auth)
        either.get("models") { request, context in try models(request, context) }
    }

    // MARK: Models

    /// The models the caller's group may use, in the caller's API's list shape.
    func models(_ request: Request, _ context: CoordinatorRequestContext) throws(CoordinatorError) -> Response {
        let node = try context.requireNode()
        let shape = GatewayAPIShape.of(request)
        // Every model: chat models of the other kind are served through translation.
        let routes = services.gatewayConfig.catalog.models(group: node.group)
        let body: [String: Any]
        switch shape {
        case .openAI:
            // OpenAI's list shape (`openai-python`: `src/openai/types/model.py`).
            body = ["object": "list", "data": routes.map { ["id": $0.model, "object": "model", "created": 0, "owned_by": $0.provider] }]
        case .anthropic:
            // Anthropic's list shape (`anthropic-sdk-python`: `src/anthropic/types/model_info.py`).
            body = [
                "data": routes.map { ["type": "model", "id": $0.model, "display_name": $0.model, "created_at": "1970-01-01T00:00:00Z"] },
                "has_more": false, "first_id": routes.first?.model ?? NSNull(), "last_id": routes.last?.model ?? NSNull(),
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var headers = services.metering.currentHeaders(node, catalog: services.gatewayConfig.catalog)
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: Proxy

    func proxy(_ endpoint: GatewayEndpoint, _ request: Request, _ context: CoordinatorRequestContext) async throws(CoordinatorError) -> Response {
        var call = GatewayCall(
            requestID: GatewayRequestID.next(), started: .now, at: Date(), node: try context.requireNode(), endpoint: endpoint,
            shape: endpoint == .messages ? .anthropic : .openAI
        )
        let upstream: HTTPClientResponse
        let key: String
        do throws(CoordinatorError) {
            let parsed = try GatewayRequest(
                endpoint: endpoint, body: Array(try await JSONBody.collect(request, limit: services.gatewaySettings.maxBodyBytes).readableBytesView)
            )
            // Summarised once: the token estimates scan the whole body.
            let summary = parsed.summary
            call.request = summary
            let catalog = services.gatewayConfig.catalog
            let api: ProviderKind = endpoint == .messages ? .anthropic : .openai
            var routes = try catalog.routes(model: parsed.model, group: call.node.group, api: api, translatable: endpoint != .embeddings)
            call.route = routes[0]
            // A budget past its downgrade share sends chat calls to its cheaper model.
            var downgrade: ModelDowngrade?
            let budgets = services.metering.budgetChecks(call.node, catalog: catalog)
            if endpoint != .embeddings,
               let moved = await services.metering.downgrade(node: call.node, model: routes[0].model, catalog: catalog, budgets: budgets),
               let cheaper = try? catalog.routes(model: moved.to, group: call.node.group, api: api, translatable: true) {
                routes = cheaper
                downgrade = moved
            }
            // Every target's key and translated body before anything is reserved: a field that
            // cannot be translated changes nothing.
            let attempts = try await prepareAttempts(routes, parsed: parsed, api: api)
            call.route = attempts[0].route
            call.translation = attempts[0].translation
            call.admission = try await services.metering.admit(call, request: summary, prices: attempts.compactMap(\.route.price), catalog: catalog,
                                                               budgets: budgets)
            if let downgrade {
                call.admission?.headers[GatewayHeaders.downgrade] = downgrade.header
                services.metering.metrics.downgrade(group: call.node.group, from: downgrade.from, to: downgrade.to)
            }
            (upstream, key) = try await send(attempts, parsed: parsed, headers: request.headers, call: &call)
        } catch {
            let outcome: UsageOutcome = error.code.httpStatus >= 502 && error.code != .providerKeyMissing ? .upstreamError : .refused
            if error.code != .internal {
                var record = call.record(status: error.code.httpStatus, outcome: outcome, errorCode: error.code.rawValue)
                // A request that reached the provider (a timeout, a dropped connection) may still
                // be billed: charge what was reserved for it.
                if [.upstreamTimeout, .upstreamError].contains(error.code), let reservation = call.admission?.reservation {
                    record.costNanos = reservation.amountNanos
                    record.source = .estimated
                }
                try await services.metering.finish(call.admission, record)
            }
            services.logger.debug("gateway call refused", metadata: ["request_id": "\(call.requestID)", "code": "\(error.code.rawValue)"])
            let headers = call.admission?.headers ?? services.metering.currentHeaders(call.node, catalog: services.gatewayConfig.catalog)
            let shown = CoordinatorError.normalized(error, request: request, logger: services.logger, requestID: call.requestID)
            return call.shape.response(shown, requestID: call.requestID, headers: headers)
        }
        let status = Int(upstream.status.code)
        guard (200..<300).contains(status) else {
            return try await upstreamFailure(upstream, call: call, key: key)
        }
        // What the answer is comes from the provider's content type, not from what was asked.
        let contentType = upstream.headers.first(name: "content-type") ?? "application/json"
        let streamed = contentType.lowercased().hasPrefix("text/event-stream")
        let relay = ResponseRelay(call: call, upstream: upstream, streamed: streamed, metering: services.metering, logger: services.logger)
        var headers = call.admission?.headers ?? [:]
        headers[.contentType] = contentType
        headers[CoordinatorError.requestIDHeader] = call.requestID
        if let upstreamID = upstream.headers.first(name: "x-request-id") ?? upstream.headers.first(name: "request-id") {
            headers[GatewayHeaders.upstreamRequestID] = upstreamID
        }
        if streamed { headers[.cacheControl] = "no-cache" }
        let contentLength = streamed || call.translation != nil ? nil : upstream.headers.first(name: "content-length").flatMap { Int($0) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(contentLength: contentLength) { writer in try await relay.run(&writer) }
        )
    }

    /// A non-2xx answer from the provider: passed on in its own (same-API) shape, except that a
    /// refused provider key becomes `upstream_auth_failed` and a redirect `upstream_error`. The
    /// body is read (at most 64 KiB) and the provider key scrubbed from it before it goes out.
    private func upstreamFailure(_ upstream: HTTPClientResponse, call: GatewayCall, key: String) async throws(CoordinatorError) -> Response {
        let status = Int(upstream.status.code)
        var body = Data()
        do {
            body = Data(buffer: try await upstream.body.collect(upTo: 64 * 1024))
        } catch {
            body = Data()
        }
        let provider = call.route?.provider ?? ""
        var error: CoordinatorError?
        if status == 401 || status == 403 {
            error = CoordinatorError(.upstreamAuthFailed, "provider '\(provider)' refused the coordinator's key; an admin must update it (flotilla secret set \(provider))")
        } else if (300..<400).contains(status) || body.isEmpty {
            error = CoordinatorError(.upstreamError, "provider '\(provider)' answered HTTP \(status)")
        }
        if let error {
            try await services.metering.finish(call.admission, call.record(status: error.code.httpStatus, outcome: .upstreamError, errorCode: error.code.rawValue))
            return call.shape.response(error, requestID: call.requestID, headers: call.admission?.headers ?? [:])
        }
        let scrubbed = Self.scrub(body, secret: key)
        try await services.metering.finish(call.admission, call.record(status: status, outcome: .upstreamError, errorCode: "upstream_http_\(status)"))
        if call.translation != nil {
            return Self.translatedFailure(scrubbed, status: status, call: call, retryAfter: upstream.headers.first(name: "retry-after"))
        }
        var headers = call.admission?.headers ?? [:]
        headers[.contentType] = upstream.headers.first(name: "content-type") ?? "application/json"
        headers[CoordinatorError.requestIDHeader] = call.requestID
        if let retry = upstream.headers.first(name: "retry-after") { headers[.retryAfter] = retry }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: scrubbed)))
    }

    /// A provider's error to a translated call, in the caller's shape with the provider's status
    /// and message (both APIs keep it at `error.message`).
    static func translatedFailure(_ body: Data, status: Int, call: GatewayCall, retryAfter: String?) -> Response {
        let message = (((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["error"] as? [String: Any])?["message"] as? String
        let code: APIErrorCode = status == 429 ? .rateLimited : (400..<500).contains(status) ? .invalidRequest : .upstreamError
        let provider = call.route?.provider ?? ""
        let shown = "provider '\(provider)' answered HTTP \(status)" + (message.map { ": " + $0 } ?? "")
        let data = (try? JSONSerialization.data(withJSONObject: call.shape.errorBody(code, shown), options: [.sortedKeys])) ?? Data()
        var headers = call.admission?.headers ?? [:]
        headers[.contentType] = "application/json"
        headers[CoordinatorError.requestIDHeader] = call.requestID
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: data)))
    }

    /// `data` with every occurrence of `secret` (as sent, and JSON-escaped) replaced, byte for
    /// byte, so a provider that echoes the key in an error does not hand it to a node whatever the
    /// body's encoding.
    static func scrub(_ data: Data, secret: String) -> Data {
        guard !secret.isEmpty else { return data }
        var result = data
        for form in Set([secret, secret.replacingOccurrences(of: "/", with: "\\/")]) {
            let needle = Data(form.utf8)
            while let range = result.range(of: needle) {
                result.replaceSubrange(range, with: Data("[redacted]".utf8))
            }
        }
        return result
    }
}

/// Request ids: a per-process random prefix and a counter, unique without a random draw per call.
enum GatewayRequestID {
    private static let prefix: String = {
        var rng = SystemRandomNumberGenerator()
        return String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &rng))
    }()
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "req_" + prefix + String(n, radix: 16)
    }
}
