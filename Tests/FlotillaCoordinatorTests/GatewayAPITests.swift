import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// The gateway routes in-process: routing, passthrough, metering and every refusal, in the
/// caller's API shape.
@Suite struct GatewayAPITests {
    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    /// `(code, type)` of an OpenAI-shaped error body.
    static func openAIError(_ response: TestResponse) throws -> (String?, String?) {
        let error = try #require(try json(response.body)["error"] as? [String: Any])
        return (error["code"] as? String, error["type"] as? String)
    }

    /// `(code, type)` of an Anthropic-shaped error body.
    static func anthropicError(_ response: TestResponse) throws -> (String?, String?) {
        let body = try json(response.body)
        #expect(body["type"] as? String == "error")
        let error = try #require(body["error"] as? [String: Any])
        return (error["code"] as? String, error["type"] as? String)
    }

    @Test func chatCompletionIsForwardedAndMeteredBeforeTheAnswer() async throws {
        try await GatewayTestbed.with { bed in
            let (node, key) = try await bed.addNode("board-01")
            let body = #"{"model":"fleet-default", "messages":[{"role":"user","content":"hi"}],"max_tokens":3,"x_new_feature":{"keep":[1,2.50]}}"#
            let response = try await bed.post("/v1/chat/completions", key: key, body: body)
            #expect(response.status == .ok)
            let answer = try Self.json(response.body)
            #expect((answer["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)
            let requestID = try #require(response.headers[HTTPField.Name("x-request-id")!])

            // The provider got the caller's bytes with only the model replaced, and the key.
            let received = try #require(bed.provider.received.last)
            #expect(received.authorized)
            #expect(received.body == body.replacingOccurrences(of: #""model":"fleet-default""#, with: #""model":"gpt-4o-mini""#))
            #expect(received.headers["authorization"] == nil)

            let record = try await #require(try bed.records().last)
            #expect(record.requestID == requestID)
            #expect(record.nodeID == node.id)
            #expect(record.group == "edge")
            #expect(record.provider == "openai")
            #expect(record.model == "fleet-default")
            #expect(record.upstreamModel == "gpt-4o-mini")
            #expect(record.usage.input == 10 && record.usage.output == 3)
            // 10 × 0.15 + 3 × 0.60 USD per million tokens = 3.3e-6 USD = 3300 nano-USD.
            #expect(record.costNanos == 3300)
            #expect(record.priceVersion == 3)
            #expect(record.outcome == .ok && record.source == .reported && record.status == 200)
        }
    }

    @Test func streamGetsUsageRequestedAndTheUsageChunkStrippedWhenTheCallerDidNotAsk() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key,
                                              body: #"{"model":"fleet-default","stream":true,"max_tokens":4,"messages":[]}"#)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let text = String(buffer: response.body)
            #expect(!text.contains(#""usage":{"#))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            #expect(text.components(separatedBy: #""content":"pong ""#).count == 5)
            let sent = try #require(bed.provider.received.last)
            #expect(sent.body.hasSuffix(#","stream_options":{"include_usage":true}}"#))
            let record = try await #require(try bed.records().last)
            #expect(record.streamed && record.outcome == .ok && record.source == .reported)
            #expect(record.usage.output == 4)

            // A caller that asked for usage gets the chunk; its own options are kept.
            let asked = try await bed.post("/v1/chat/completions", key: key,
                                           body: #"{"model":"fleet-default","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#)
            #expect(String(buffer: asked.body).contains(#""usage":{"#))
            #expect(bed.provider.received.last?.body.hasSuffix(#""stream_options":{"include_usage":true},"messages":[]}"#) == true)
        }
    }

    @Test func cachedTokensArePricedAtTheCachedRate() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key,
                                              body: #"{"model":"cached","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"max_tokens":2}"#)
            #expect(response.status == .ok)
            let record = try await #require(try bed.records().last)
            // 20 input of which 10 cached, 2 output: 10 × 1 + 10 × 0.5 + 2 × 2 USD/M = 19e-6 USD.
            #expect(record.usage.input == 20 && record.usage.cached == 10 && record.usage.output == 2)
            #expect(record.costNanos == 19_000)
        }
    }

    @Test func embeddingsAndAnthropicMessagesAreMetered() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let embedded = try await bed.post("/v1/embeddings", key: key, body: #"{"model":"fleet-embed","input":["a","b"]}"#)
            #expect(embedded.status == .ok)
            await #expect(try bed.records().last?.usage.input == 20)
            await #expect(try bed.records().last?.costNanos == 400)

            let message = try await bed.post("/v1/messages", key: key, body: #"{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
                                             anthropic: true)
            #expect(message.status == .ok)
            #expect(try Self.json(message.body)["type"] as? String == "message")
            #expect(bed.provider.received.last?.headers["anthropic-version"] == "2023-06-01")
            var record = try await #require(try bed.records().last)
            #expect(record.usage.input == 10 && record.usage.output == 5 && record.source == .reported)

            let stream = try await bed.post("/v1/messages", key: key, body: #"{"model":"claude","max_tokens":6,"stream":true,"messages":[]}"#,
                                            anthropic: true)
            let text = String(buffer: stream.body)
            #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            record = try await #require(try bed.records().last)
            #expect(record.streamed && record.usage.input == 10 && record.usage.output == 6 && record.outcome == .ok)
            // 10 × 0.8 + 6 × 4 USD/M.
            #expect(record.costNanos == 32_000)
        }
    }

    @Test func aKeyIsReadWithoutTheWhitespaceAroundIt() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            for header in ["Bearer " + key, "Bearer  \t" + key + " \t", "Bearer \t" + key] {
                let answer = try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: header])
                #expect(answer.status == .ok, "\(header.debugDescription)")
            }
            // Inner whitespace is part of the value: no such key. A blank bearer is no key at all.
            let split = String(key.prefix(4)) + " " + String(key.dropFirst(4))
            #expect(try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer " + split]).status == .unauthorized)
            #expect(try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer  \t "]).status == .unauthorized)
        }
    }

    @Test func modelsListsWhatTheGroupMayUseThroughTheCallersAPI() async throws {
        try await GatewayTestbed.with { bed in
            let (_, restricted) = try await bed.addNode("board-02", group: "restricted")
            let openAI = try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer " + restricted])
            let list = try Self.json(openAI.body)
            #expect(list["object"] as? String == "list")
            #expect((list["data"] as? [[String: Any]])?.map { $0["id"] as? String } == ["fleet-default"])

            let (_, key) = try await bed.addNode("board-01")
            let all = try Self.json(try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer " + key]).body)
            // Both APIs list every model: chat models of the other kind are translated.
            #expect((all["data"] as? [[String: Any]])?.count == 12)
            let anthropic = try await bed.client.execute(uri: "/v1/models", method: .get, headers: [
                HTTPField.Name("x-api-key")!: key, HTTPField.Name("anthropic-version")!: "2023-06-01",
            ])
            let page = try Self.json(anthropic.body)
            #expect((page["data"] as? [[String: Any]])?.count == 12)
            #expect((page["data"] as? [[String: Any]])?.contains { $0["id"] as? String == "fleet-default" } == true)
            #expect((page["data"] as? [[String: Any]])?.first?["type"] as? String == "model")
            #expect(page["has_more"] as? Bool == false)
            #expect(page["first_id"] as? String == "cached")
        }
    }

    /// PicoClaw calls the other coordinators through copies named `MODEL@N` (PicoClawModelList):
    /// each is its model, metered as it, under the same group rules.
    @Test func aCoordinatorCopyOfAModelIsRoutedAndMeteredAsTheModel() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let (_, restrictedKey) = try await bed.addNode("board-02", group: "restricted")
            let body = #"{"model":"fleet-default@2","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"#
            let response = try await bed.post("/v1/chat/completions", key: key, body: body)
            #expect(response.status == .ok)
            let received = try #require(bed.provider.received.last)
            #expect(received.body == body.replacingOccurrences(of: #""model":"fleet-default@2""#, with: #""model":"gpt-4o-mini""#))
            let record = try await #require(try bed.records().last)
            #expect(record.model == "fleet-default" && record.outcome == .ok && record.costNanos == 3300)

            let notACopy = try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"fleet-default@1","messages":[]}"#)
            #expect(notACopy.status == .notFound)
            #expect(try Self.openAIError(notACopy).0 == "model_not_found")
            let restricted = try await bed.post("/v1/chat/completions", key: restrictedKey, body: #"{"model":"fleet-embed@2","messages":[]}"#)
            #expect(try Self.openAIError(restricted).0 == "model_not_allowed")
        }
    }

    @Test func refusalsHaveTypedErrorsInTheCallersShapeAndAreRecorded() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let (_, restrictedKey) = try await bed.addNode("board-02", group: "restricted")
            let chat = "/v1/chat/completions"
            let cases: [(String, String, String, HTTPResponse.Status, String)] = [
                (chat, key, #"{"model":"nope","messages":[]}"#, .notFound, "model_not_found"),
                (chat, restrictedKey, #"{"model":"fleet-embed","messages":[]}"#, .forbidden, "model_not_allowed"),
                (chat, key, #"{"model":"unpriced","messages":[]}"#, .forbidden, "model_not_priced"),
                ("/v1/embeddings", key, #"{"model":"claude","input":"x"}"#, .badRequest, "model_wrong_api"),
                (chat, key, #"["not an object"]"#, .badRequest, "invalid_request"),
                (chat, key, #"{"messages":[]}"#, .badRequest, "invalid_request"),
            ]
            for (path, caller, body, status, code) in cases {
                let response = try await bed.post(path, key: caller, body: body)
                #expect(response.status == status, "\(code)")
                #expect(try Self.openAIError(response).0 == code)
            }
            let records = try await bed.records()
            #expect(records.count == cases.count)
            #expect(records.allSatisfy { $0.outcome == .refused && $0.costNanos == 0 })
            #expect(records.map(\.errorCode) == cases.map(\.4))
            #expect(records.map(\.model) == ["nope", "fleet-embed", "unpriced", "claude", "", ""])
            #expect(bed.provider.received.isEmpty)

            // Anthropic callers get Anthropic's shape.
            let wrong = try await bed.post("/v1/messages", key: key, body: #"{"model":"fleet-default","max_tokens":5,"top_k":3,"messages":[]}"#,
                                           anthropic: true)
            #expect(wrong.status == .badRequest)
            #expect(try Self.anthropicError(wrong) == ("field_not_translatable", "invalid_request_error"))
        }
    }

    @Test func badRotatedRevokedAndPendingCallersAreRefusedAndNotRecorded() async throws {
        try await GatewayTestbed.with { bed in
            let (node, key) = try await bed.addNode("board-01")
            let (_, revokedKey) = try await bed.addNode("gone", state: .revoked)
            let (_, pendingKey) = try await bed.addNode("waiting", state: .pending)
            let body = #"{"model":"fleet-default","messages":[]}"#
            for (caller, status, code) in [(nil, HTTPResponse.Status.unauthorized, "invalid_api_key"), ("flt_gw_wrong", .unauthorized, "invalid_api_key"),
                                           (revokedKey, .forbidden, "node_revoked"), (pendingKey, .forbidden, "node_pending")] as [(String?, HTTPResponse.Status, String)] {
                let response = try await bed.post("/v1/chat/completions", key: caller, body: body)
                #expect(response.status == status)
                #expect(try Self.openAIError(response).0 == code)
                let anthropic = try await bed.post("/v1/messages", key: caller, body: body, anthropic: true)
                #expect(try Self.anthropicError(anthropic).0 == code)
            }
            await #expect(try bed.records().isEmpty)

            // Rotation: the old key stops working at once; the node has no key until it fetches one.
            #expect(try await bed.post("/v1/chat/completions", key: key, body: body).status == .ok)
            try await bed.services.nodeKeys.revoke(nodeID: node.id)
            #expect(bed.services.nodeKeys.keyID(nodeID: node.id) == nil)
            let rotated = try await bed.post("/v1/chat/completions", key: key, body: body)
            #expect(rotated.status == .unauthorized)
            let fresh = try await bed.services.nodeKeys.issue(nodeID: node.id)
            #expect(try await bed.post("/v1/chat/completions", key: fresh.key, body: body).status == .ok)
        }
    }

    @Test func bodiesOverTheLimitAreRefusedInShape() async throws {
        try await GatewayTestbed.with(settings: GatewaySettings(maxBodyBytes: 2048)) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let big = #"{"model":"fleet-default","messages":[{"role":"user","content":""# + String(repeating: "x", count: 4096) + #""}]}"#
            let response = try await bed.post("/v1/chat/completions", key: key, body: big)
            #expect(response.status == .contentTooLarge)
            #expect(try Self.openAIError(response).0 == "body_too_large")
            let anthropic = try await bed.post("/v1/messages", key: key, body: big, anthropic: true)
            #expect(try Self.anthropicError(anthropic) == ("body_too_large", "request_too_large"))
            #expect(bed.provider.received.isEmpty)
            await #expect(try bed.records().map(\.errorCode) == ["body_too_large", "body_too_large"])
        }
    }

    @Test func aMissingProviderKeyIsRefused() async throws {
        try await GatewayTestbed.with(setKey: false) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"fleet-default","messages":[]}"#)
            #expect(response.status == .serviceUnavailable)
            #expect(try Self.openAIError(response).0 == "provider_key_missing")
            await #expect(try bed.records().last?.outcome == .refused)
        }
    }

    @Test func providerFailuresBecomeGatewayErrorsAndNeverLeakTheKey() async throws {
        // The first-byte timeout applies to every call here, not only the hanging one: it leaves the
        // others room on a loaded two-core CI machine (500 ms once timed out a 307) and still ends
        // well before the stand-in's 10 s hang.
        let timeouts = UpstreamTimeouts(connect: .seconds(2), firstByte: .seconds(3), idle: .seconds(5))
        try await GatewayTestbed.with(settings: GatewaySettings(timeouts: timeouts)) { bed in
            let (_, key) = try await bed.addNode("board-01")
            func call(_ model: String) async throws -> TestResponse {
                try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"\#(model)","messages":[]}"#)
            }
            let hang = try await call("hangs")
            #expect(hang.status == .gatewayTimeout)
            #expect(try Self.openAIError(hang).0 == "upstream_timeout")
            let redirect = try await call("redirects")
            #expect(redirect.status == .badGateway)
            #expect(try Self.openAIError(redirect).0 == "upstream_error")
            let failed = try await call("fails")
            #expect(failed.status == .internalServerError)
            #expect(try Self.openAIError(failed).1 == "server_error")
            let echoed = try await call("echoes-key")
            #expect(echoed.status == .badRequest)
            #expect(!String(buffer: echoed.body).contains(GatewayTestbed.providerKey))
            #expect(String(buffer: echoed.body).contains("[redacted]"))

            // The provider refusing the coordinator's key is the operator's problem, not the node's.
            try await bed.services.vault.setSecret(provider: "openai", value: "sk-wrong-key-abcd", now: Date())
            let refused = try await call("fleet-default")
            #expect(refused.status == .badGateway)
            #expect(try Self.openAIError(refused).0 == "upstream_auth_failed")
            #expect(!String(buffer: refused.body).contains("abcd"))

            let outcomes = try await bed.records().map { ($0.outcome, $0.errorCode) }
            #expect(outcomes.map(\.0) == Array(repeating: UsageOutcome.upstreamError, count: 5))
            #expect(outcomes.map(\.1) == ["upstream_timeout", "upstream_error", "upstream_http_500", "upstream_http_400", "upstream_auth_failed"])
        }
    }

    @Test func anUnreachableProviderIsABadGateway() async throws {
        var gateway = GatewayTestbed.defaultGateway
        gateway.providers[0].baseURL = "http://127.0.0.1:9/v1"
        try await GatewayTestbed.with(gateway: gateway) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"fleet-default","messages":[]}"#)
            #expect(response.status == .badGateway)
            #expect(try Self.openAIError(response).0 == "upstream_unreachable")
            #expect(!String(buffer: response.body).contains("127.0.0.1"))
        }
    }

    @Test func aStreamThatDiesIsChargedForWhatWasStreamedAndEndsWithAnErrorEvent() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/chat/completions", key: key,
                                              body: #"{"model":"dies","stream":true,"messages":[{"role":"user","content":"12345678"}]}"#)
            let text = String(buffer: response.body)
            #expect(text.contains(#""content":"pong ""#))
            #expect(!text.contains("[DONE]"))
            #expect(text.contains(#""code":"upstream_error""#))
            let record = try await #require(try bed.records().last)
            #expect(record.outcome == .upstreamError && record.source == .estimated)
            // What reached the caller is charged at about 4 bytes of text per token.
            let streamed = text.components(separatedBy: "pong ").count - 1
            #expect(streamed >= 1)
            #expect(record.usage.output == Int64((5 * streamed + 3) / 4))
            #expect(record.usage.input >= 2)
            #expect(record.costNanos > 0)

            let anthropic = try await bed.post("/v1/messages", key: key, body: #"{"model":"claude-dies","stream":true,"max_tokens":9,"messages":[]}"#,
                                               anthropic: true)
            let anthropicText = String(buffer: anthropic.body)
            #expect(anthropicText.contains("event: error"))
            let cut = try await #require(try bed.records().last)
            #expect(cut.outcome == .upstreamError && cut.source == .partial)
            #expect(cut.usage.input == 10)
            #expect(cut.usage.output == Int64((5 * (anthropicText.components(separatedBy: "pong ").count - 1) + 3) / 4))
        }
    }
}
