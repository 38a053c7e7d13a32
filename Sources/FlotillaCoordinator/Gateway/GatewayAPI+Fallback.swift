import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One target a call may be sent to, made ready before anything is reserved: the provider's key
/// and, when the caller's API is not the provider's, the request translated and checked.
struct UpstreamAttempt: Sendable {
    var route: GatewayCatalog.Route
    var key: String
    var translation: TranslatingStream.Direction?
    /// The translated body at the model's own output cap (nil: not translated).
    var draft: ByteBuffer?
}

/// Fallback between a fleet model's targets (`models.NAME.targets`). The gateway moves on to the
/// next target when one cannot be reached, times out before its response headers, or answers
/// 401/403 (the coordinator's key), 408, 429 or 5xx (redirects too, which the gateway never
/// follows): failures of the provider, not of the request. Another 4xx is the request's fault
/// and reaches the caller as it is, as any answer does once the provider has answered 2xx
/// (nothing has reached the caller before that). Each failed attempt is a usage record of its
/// own (`fell_back`, same request id, nothing charged); the call's one charge is on the record
/// of the target that answered. LiteLLM's router retries the next deployment on the same
/// classes (`litellm/router.py`: timeouts, rate limits, 5xx, auth), never on a bad request.
extension GatewayAPI {
    /// The targets of `routes` that can take the call, in order: those whose provider has a key
    /// (`flotilla plan` warns of one without), each with the request translated when its kind is
    /// not `api`'s. A field the first target's translation cannot carry refuses the call (the
    /// caller should know, not be served elsewhere by chance); a later target that cannot take it
    /// is left out. With no target left, the first problem refuses the call.
    func prepareAttempts(_ routes: [GatewayCatalog.Route], parsed: GatewayRequest, api: ProviderKind) async throws(CoordinatorError) -> [UpstreamAttempt] {
        var attempts: [UpstreamAttempt] = []
        var firstProblem: CoordinatorError?
        for route in routes {
            do throws(CoordinatorError) {
                guard let key = try await services.vault.secret(provider: route.provider) else {
                    throw CoordinatorError(.providerKeyMissing, "provider '\(route.provider)' has no key on the coordinator (flotilla secret set \(route.provider))")
                }
                let translation: TranslatingStream.Direction? = route.kind == api ? nil : (api == .anthropic ? .openAIToAnthropic : .anthropicToOpenAI)
                // Without a budget's cap a translated call asks for the model's maximum at most
                // (Messages needs a `max_tokens`); translated again only if the budget lowers it.
                var draft: ByteBuffer?
                if let translation {
                    draft = try Self.translated(parsed, translation, route: route, cap: route.price?.maxOutputTokens)
                }
                attempts.append(UpstreamAttempt(route: route, key: key, translation: translation, draft: draft))
            } catch where error.code == .providerKeyMissing || error.code == .fieldNotTranslatable {
                if attempts.isEmpty, firstProblem == nil { firstProblem = error }
            }
        }
        if let firstProblem, firstProblem.code == .fieldNotTranslatable, attempts.first?.route != routes.first { throw firstProblem }
        guard !attempts.isEmpty else { throw firstProblem ?? CoordinatorError.internal("a model without targets") }
        return attempts
    }

    /// The request translated for `route`'s provider API, at output cap `cap`.
    static func translated(_ parsed: GatewayRequest, _ direction: TranslatingStream.Direction, route: GatewayCatalog.Route,
                           cap: Int64?) throws(CoordinatorError) -> ByteBuffer {
        switch direction {
        case .openAIToAnthropic:
            ByteBuffer(data: try APITranslation.chatCompletions(fromMessages: parsed.body, upstreamModel: route.upstream, outputCap: cap))
        case .anthropicToOpenAI:
            ByteBuffer(data: try APITranslation.messages(fromChatCompletions: parsed.body, upstreamModel: route.upstream, outputCap: cap))
        }
    }

    /// Sends the call to its targets in order until one answers with something the caller gets;
    /// the last target's answer or failure is the call's, whatever it is. `call` ends on the
    /// target that answered.
    func send(_ attempts: [UpstreamAttempt], parsed: GatewayRequest, headers: HTTPFields, call: inout GatewayCall)
        async throws(CoordinatorError) -> (HTTPClientResponse, String)
    {
        for (index, attempt) in attempts.enumerated() {
            call.route = attempt.route
            call.translation = attempt.translation
            let last = index == attempts.count - 1
            let started = ContinuousClock.now
            do throws(CoordinatorError) {
                let response = try await services.upstream.send(
                    route: attempt.route, endpoint: attempt.translation == nil ? call.endpoint : (attempt.route.kind == .anthropic ? .messages : .chatCompletions),
                    key: attempt.key, body: try body(attempt, parsed: parsed, call: call), stream: parsed.stream,
                    callerHeaders: attempt.translation == nil ? headers : [:]
                )
                let status = Int(response.status.code)
                guard !last, Self.fallsOver(status: status) else { return (response, attempt.key) }
                // Read (and dropped) so the connection goes back to the pool.
                _ = try? await response.body.collect(upTo: 64 * 1024)
                try await fellBack(call, from: attempt, to: attempts[index + 1], status: status, code: "upstream_http_\(status)", after: started)
            } catch where !last && Self.fallsOver(error.code) {
                try await fellBack(call, from: attempt, to: attempts[index + 1], status: error.code.httpStatus, code: error.code.rawValue, after: started)
            }
        }
        throw CoordinatorError.internal("a call without targets")
    }

    /// What goes to `attempt`'s provider: the caller's body with its model id (and the budget's
    /// output cap, clamped to this target's maximum), or its translation.
    private func body(_ attempt: UpstreamAttempt, parsed: GatewayRequest, call: GatewayCall) throws(CoordinatorError) -> ByteBuffer {
        let modelCap = attempt.route.price?.maxOutputTokens
        let own = call.request.map { BudgetPolicy.outputCap($0, price: attempt.route.price ?? ModelPrice(inputMicros: 0, outputMicros: 0)) }
        let budgetCap = call.admission?.outputCap.map { cap in own.map { min(cap, $0) } ?? cap }
        guard let translation = attempt.translation else { return parsed.forwardBody(upstreamModel: attempt.route.upstream, outputCap: budgetCap) }
        let cap = budgetCap ?? modelCap
        if cap == modelCap, let draft = attempt.draft { return draft }
        return try Self.translated(parsed, translation, route: attempt.route, cap: cap)
    }

    /// Records a failed attempt (nothing charged) and logs the move to the next target.
    private func fellBack(_ call: GatewayCall, from attempt: UpstreamAttempt, to next: UpstreamAttempt, status: Int, code: String,
                          after started: ContinuousClock.Instant) async throws(CoordinatorError) {
        var record = call.record(status: status, outcome: .fellBack, errorCode: code)
        record.latencyMs = GatewayCall.milliseconds(ContinuousClock.now - started)
        try await services.metering.finish(nil, record)
        services.logger.info("gateway fell back to the next target", metadata: [
            "request_id": "\(call.requestID)", "model": "\(attempt.route.model)", "from": "\(attempt.route.provider)/\(attempt.route.upstream)",
            "to": "\(next.route.provider)/\(next.route.upstream)", "reason": "\(code)",
        ])
    }

    /// Provider answers that are the provider's failure, not the request's: its key refused,
    /// request timeout, rate limited, a redirect (never followed), a server error.
    static func fallsOver(status: Int) -> Bool {
        [401, 403, 408, 429].contains(status) || (300..<400).contains(status) || status >= 500
    }

    /// Exchanges that failed before an answer: unreachable, timed out, connection closed.
    static func fallsOver(_ code: APIErrorCode) -> Bool {
        [.upstreamUnreachable, .upstreamTimeout, .upstreamError].contains(code)
    }
}
