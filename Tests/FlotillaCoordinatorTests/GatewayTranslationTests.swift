import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// Calls translated between the two client APIs, in-process: what the provider receives in its
/// own API, what the caller gets back in its, streamed and not, and the refusals.
@Suite struct GatewayTranslationTests {
    static func received(_ bed: GatewayTestbed) throws -> [String: Any] {
        let body = try #require(bed.provider.received.last?.body)
        return try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// `(event name, data)` of each server-sent event of a body.
    static func events(_ buffer: ByteBuffer) -> [(name: String?, data: String)] {
        String(buffer: buffer).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            var name: String?
            var data = ""
            for line in event.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return (name, data)
        }
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func anAnthropicCallToAnOpenAIModelIsSentAsAChatCompletionAndAnsweredAsAMessage() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let body = #"""
                {"model":"fleet-default","max_tokens":3,"system":[{"type":"text","text":"Be brief."}],"stop_sequences":["END"],
                 "metadata":{"user_id":"u-1"},"tool_choice":{"type":"any"},
                 "tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
                 "messages":[{"role":"user","content":"hi"},
                             {"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"tu_1","name":"get_weather","input":{"city":"Oslo"}}]},
                             {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu_1","content":"Snow"},{"type":"text","text":"And?"}]}]}
                """#
            let response = try await bed.post("/v1/messages", key: key, body: body, anthropic: true)
            #expect(response.status == .ok)
            let sent = try Self.received(bed)
            #expect(bed.provider.received.last?.path == "/v1/chat/completions")
            #expect(sent["model"] as? String == "gpt-4o-mini" && sent["max_completion_tokens"] as? Int == 3)
            #expect(sent["stop"] as? [String] == ["END"] && sent["user"] as? String == "u-1" && sent["tool_choice"] as? String == "required")
            let messages = sent["messages"] as? [[String: Any]] ?? []
            #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "user"])
            #expect(messages[0]["content"] as? String == "Be brief.")
            let call = (messages[2]["tool_calls"] as? [[String: Any]])?.first
            #expect(call?["id"] as? String == "tu_1" && (call?["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Oslo"}"#)
            #expect(messages[3]["tool_call_id"] as? String == "tu_1" && messages[3]["content"] as? String == "Snow")
            let tool = ((sent["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])
            #expect(tool?["name"] as? String == "get_weather" && (tool?["parameters"] as? [String: Any])?["type"] as? String == "object")

            // The fake calls the tool: a tool_use block, stop_reason tool_use, the provider's usage.
            let answer = try GatewayAPITests.json(response.body)
            #expect(answer["type"] as? String == "message" && answer["model"] as? String == "fleet-default")
            let block = (answer["content"] as? [[String: Any]])?.first
            #expect(block?["type"] as? String == "tool_use" && block?["name"] as? String == "get_weather")
            #expect(block?["input"] as? [String: String] == ["city": "Paris"])
            #expect(answer["stop_reason"] as? String == "tool_use")
            #expect((answer["usage"] as? [String: Any])?["input_tokens"] as? Int == 50)
            let record = try await #require(try bed.records().last)
            #expect(record.model == "fleet-default" && record.endpoint == .messages && record.usage.input == 50 && record.outcome == .ok)
        }
    }

    @Test func aStreamedOpenAIAnswerBecomesAnthropicEvents() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let body = #"{"model":"fleet-default","max_tokens":3,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            let response = try await bed.post("/v1/messages", key: key, body: body, anthropic: true)
            #expect(response.status == .ok)
            #expect((try Self.received(bed)["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
            let events = Self.events(response.body)
            #expect(events.map(\.name) == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                                           "content_block_delta", "content_block_stop", "message_delta", "message_stop"])
            let text = events.filter { $0.name == "content_block_delta" }.map { (Self.object($0.data)["delta"] as? [String: Any])?["text"] as? String ?? "" }
            #expect(text.joined() == "pong pong pong ")
            let delta = Self.object(events[6].data)
            #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            #expect((delta["usage"] as? [String: Any])?["output_tokens"] as? Int == 3)
            let record = try await #require(try bed.records().last)
            #expect(record.usage == TokenUsage(input: 10, output: 3) && record.source == .reported && record.streamed)
        }
    }

    @Test func anOpenAICallToAnAnthropicModelIsSentAsMessagesAndAnsweredAsAChatCompletion() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let body = #"""
                {"model":"claude","max_tokens":4,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
                 {"role":"tool","tool_call_id":"c1","content":"Snow"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":"auto"}
                """#
            let response = try await bed.post("/v1/chat/completions", key: key, body: body)
            #expect(response.status == .ok)
            let sent = try Self.received(bed)
            #expect(bed.provider.received.last?.path == "/v1/messages")
            #expect(sent["model"] as? String == "claude-3-5-haiku-latest" && sent["max_tokens"] as? Int == 4 && sent["system"] as? String == "Be brief.")
            let messages = sent["messages"] as? [[String: Any]] ?? []
            #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
            let use = (messages[1]["content"] as? [[String: Any]])?.first
            #expect(use?["type"] as? String == "tool_use" && use?["input"] as? [String: String] == ["city": "Oslo"])
            let result = (messages[2]["content"] as? [[String: Any]])?.first
            #expect(result?["type"] as? String == "tool_result" && result?["tool_use_id"] as? String == "c1")
            #expect((sent["tool_choice"] as? [String: Any])?["type"] as? String == "auto")

            // The tool's result is back: the fake answers in text.
            let answer = try GatewayAPITests.json(response.body)
            #expect(answer["object"] as? String == "chat.completion" && answer["model"] as? String == "claude")
            let choice = (answer["choices"] as? [[String: Any]])?.first
            #expect((choice?["message"] as? [String: Any])?["content"] as? String == "pong pong pong pong ")
            #expect(choice?["finish_reason"] as? String == "stop")
            #expect((answer["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 30)
            // 30 × 0.80 + 4 × 4.00 USD per million tokens = 40,000 nano-USD.
            let record = try await #require(try bed.records().last)
            #expect(record.model == "claude" && record.usage.input == 30 && record.usage.output == 4 && record.costNanos == 40_000)
        }
    }

    @Test func aStreamedAnthropicAnswerBecomesOpenAIChunksWithTheUsageChunkOnlyWhenAsked() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            for asked in [true, false] {
                let options = asked ? #","stream_options":{"include_usage":true}"# : ""
                let body = #"{"model":"claude","max_tokens":2,"stream":true"# + options + #","messages":[{"role":"user","content":"hi"}]}"#
                let response = try await bed.post("/v1/chat/completions", key: key, body: body)
                #expect(response.status == .ok)
                let events = Self.events(response.body)
                #expect(events.last?.data == "[DONE]")
                let chunks = events.dropLast().map { Self.object($0.data) }
                #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" && $0["model"] as? String == "claude" })
                let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
                #expect(text.joined() == "pong pong ")
                #expect(chunks.contains { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "stop" })
                let usage = chunks.compactMap { $0["usage"] as? [String: Any] }
                #expect(usage.count == (asked ? 1 : 0))
                if asked { #expect(usage.first?["completion_tokens"] as? Int == 2 && usage.first?["prompt_tokens"] as? Int == 10) }
                let record = try await #require(try bed.records().last)
                #expect(record.usage == TokenUsage(input: 10, output: 2) && record.outcome == .ok)
            }
        }
    }

    @Test(arguments: [
        ("/v1/chat/completions", #"{"model":"claude","temperature":1.5,"messages":[{"role":"user","content":"hi"}]}"#, "temperature"),
        ("/v1/chat/completions", #"{"model":"claude","seed":7,"messages":[{"role":"user","content":"hi"}]}"#, "seed"),
        ("/v1/chat/completions", #"{"model":"claude","response_format":{"type":"json_object"},"messages":[]}"#, "response_format"),
        ("/v1/messages", #"{"model":"fleet-default","max_tokens":5,"thinking":{"type":"enabled"},"messages":[]}"#, "thinking"),
        ("/v1/messages", #"{"model":"fleet-default","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}"#,
         "messages[0].content[0].type"),
    ])
    func whatCannotBeTranslatedIsRefusedNamingTheFieldAndNothingIsSent(path: String, body: String, field: String) async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let anthropic = path == "/v1/messages"
            let response = try await bed.post(path, key: key, body: body, anthropic: anthropic)
            #expect(response.status == .badRequest)
            let (code, _) = anthropic ? try GatewayAPITests.anthropicError(response) : try GatewayAPITests.openAIError(response)
            #expect(code == "field_not_translatable")
            #expect(String(buffer: response.body).contains("'\(field)'"), "\(String(buffer: response.body))")
            #expect(bed.provider.received.isEmpty)
            let record = try await #require(try bed.records().last)
            #expect(record.outcome == .refused && record.costNanos == 0)
        }
    }

    /// A provider's own error reaches a translated caller in the caller's shape, with the
    /// provider's status and message.
    @Test func aProviderErrorIsShownInTheCallersShape() async throws {
        try await GatewayTestbed.with { bed in
            let (_, key) = try await bed.addNode("board-01")
            let response = try await bed.post("/v1/messages", key: key, body: #"{"model":"fails","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
                                              anthropic: true)
            #expect(response.status == .internalServerError)
            let body = try GatewayAPITests.json(response.body)
            #expect(body["type"] as? String == "error")
            let error = try #require(body["error"] as? [String: Any])
            #expect(error["type"] as? String == "api_error")
            #expect((error["message"] as? String ?? "").contains("The server had an error"))
            let record = try await #require(try bed.records().last)
            #expect(record.outcome == .upstreamError && record.errorCode == "upstream_http_500")
        }
    }
}
