import FlotillaProtocol
import Foundation
import Testing

extension EndToEnd {
/// The official SDKs calling a model whose provider speaks the other API, through the real
/// gateway to the fake provider: the anthropic SDK to an OpenAI-kind model and the openai SDK to
/// an Anthropic-kind one, text and tool calls, streamed and not; metered on the provider's usage.
@Suite(.serialized) struct TranslationEndToEndTests {
    @Test func eachSDKCallsAModelOfTheOtherKindAndIsMeteredOnTheProvidersUsage() async throws {
        try await TestFleet.with { fleet in
            let gateway = try GatewaySetup.prepare(fleet)
            let (steps, output) = try gateway.sdk("translate")
            func step(_ name: String) -> [String: Any] { steps[name] ?? [:] }
            func usage(_ name: String) -> [String: Any] { step(name)["usage"] as? [String: Any] ?? [:] }
            let paris = ["city": "Paris"]

            // Anthropic SDK -> OpenAI-kind `fleet-default`; the system prompt became a message.
            #expect(step("a_text")["text"] as? String == "pong pong pong pong " && step("a_text")["model"] as? String == "fleet-default", "\(output)")
            #expect(step("a_text")["stop"] as? String == "end_turn")
            #expect(usage("a_text")["input_tokens"] as? Int == 20 && usage("a_text")["output_tokens"] as? Int == 4)
            #expect(step("a_stream")["text"] as? String == String(repeating: "pong ", count: 5) && step("a_stream")["stop"] as? String == "end_turn")
            #expect(usage("a_stream")["output_tokens"] as? Int == 5 && usage("a_stream")["input_tokens"] as? Int == 10)
            #expect(step("a_tool")["type"] as? String == "tool_use" && step("a_tool")["name"] as? String == "get_weather")
            #expect(step("a_tool")["input"] as? [String: String] == paris && step("a_tool")["stop"] as? String == "tool_use")
            #expect(step("a_tool_result")["text"] as? String == "pong pong pong " && step("a_tool_result")["stop"] as? String == "end_turn")
            #expect(step("a_tool_stream")["input"] as? [String: String] == paris && step("a_tool_stream")["stop"] as? String == "tool_use")

            // OpenAI SDK -> Anthropic-kind `claude`; the system message became `system`.
            #expect(step("o_text")["text"] as? String == "pong pong pong pong " && step("o_text")["model"] as? String == "claude", "\(output)")
            #expect(step("o_text")["finish"] as? String == "stop")
            #expect(usage("o_text")["prompt_tokens"] as? Int == 10 && usage("o_text")["completion_tokens"] as? Int == 4)
            #expect(step("o_stream")["text"] as? String == String(repeating: "pong ", count: 5) && step("o_stream")["finish"] as? String == "stop")
            #expect(usage("o_stream")["completion_tokens"] as? Int == 5)
            #expect(step("o_tool")["name"] as? String == "get_weather" && step("o_tool")["arguments"] as? [String: String] == paris)
            #expect(step("o_tool")["finish"] as? String == "tool_calls")
            #expect(step("o_tool_result")["text"] as? String == "pong pong pong " && step("o_tool_result")["finish"] as? String == "stop")
            #expect(step("o_tool_stream")["name"] as? String == "get_weather" && step("o_tool_stream")["arguments"] as? [String: String] == paris)
            #expect(step("o_tool_stream")["finish"] as? String == "tool_calls")

            // What cannot be translated: a 400 in the caller's shape naming the field; embeddings
            // of an Anthropic-kind model stay refused.
            for (name, status, code, field) in [("a_top_k", 400, "field_not_translatable", "top_k"), ("o_n", 400, "field_not_translatable", "'n'"),
                                                ("o_embed", 400, "model_wrong_api", "anthropic provider")] {
                #expect(step(name)["status"] as? Int == status && step(name)["code"] as? String == code, "\(name): \(step(name))")
                #expect((step(name + "_message")["message"] as? String ?? "").contains(field), "\(name)")
            }

            // The provider got each translated call in its own API (10 calls), and the usage
            // ledger holds exactly the tokens it reported.
            let received = try await gateway.providerRequests()
            #expect(received.map { $0["path"] as? String } == Array(repeating: "/v1/chat/completions", count: 5) + Array(repeating: "/v1/messages", count: 5))
            let reported = received.map { $0["usage"] as? [String: Int] ?? [:] }
            let byModel = try GatewayEndToEndTests.usage(fleet, by: "model")
            let openAI = byModel.rows.first { $0.key == "fleet-default" }
            let anthropic = byModel.rows.first { $0.key == "claude" }
            #expect(openAI?.calls == 6 && openAI?.refused == 1 && anthropic?.calls == 7 && anthropic?.refused == 2, "\(byModel.rows)")
            #expect(openAI?.inputTokens == Int64(reported.prefix(5).reduce(0) { $0 + ($1["input"] ?? 0) }))
            #expect(openAI?.outputTokens == Int64(reported.prefix(5).reduce(0) { $0 + ($1["output"] ?? 0) }))
            #expect(anthropic?.inputTokens == Int64(reported.suffix(5).reduce(0) { $0 + ($1["input"] ?? 0) }))
            #expect(anthropic?.outputTokens == Int64(reported.suffix(5).reduce(0) { $0 + ($1["output"] ?? 0) }))
        }
    }
}
}
