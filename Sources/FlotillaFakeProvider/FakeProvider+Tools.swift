import Foundation
import Hummingbird
import NIOCore

/// A request that offers tools is answered by calling the first one with `{"city": "Paris"}`,
/// until the conversation hands its result back, in each API's shape: OpenAI's assistant
/// `tool_calls` with `finish_reason: "tool_calls"`, streamed as `delta.tool_calls` fragments of
/// the arguments (platform.openai.com/docs/api-reference/chat-streaming; openai-python:
/// `src/openai/types/chat/chat_completion_chunk.py`); Anthropic's `tool_use` block with
/// `stop_reason: "tool_use"`, streamed as `input_json_delta` events
/// (docs.anthropic.com/en/docs/build-with-claude/streaming).
extension FakeProvider {
    static let toolArguments = #"{"city":"Paris"}"#

    /// Token counts of the answer (input, output, cached input).
    typealias Tokens = (input: Int, output: Int, cached: Int)

    static func chatToolCall(_ tool: String, model: String, stream: Bool, includeUsage: Bool, tokens: Tokens) -> Response {
        let call: [String: Any] = ["id": "call_fake", "type": "function", "function": ["name": tool, "arguments": toolArguments]]
        guard stream else {
            return json(["id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                         "choices": [["index": 0, "message": ["role": "assistant", "content": NSNull(), "tool_calls": [call]] as [String: Any],
                                      "finish_reason": "tool_calls"] as [String: Any]],
                         "usage": chatUsage(input: tokens.input, output: tokens.output, cached: tokens.cached)])
        }
        return self.stream { writer in
            func chunk(_ delta: [String: Any], finish: Any = NSNull()) -> [String: Any] {
                ["id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                 "choices": [["index": 0, "delta": delta, "finish_reason": finish] as [String: Any]]]
            }
            try await writer.write(event(nil, chunk(["role": "assistant", "content": NSNull()])))
            try await writer.write(event(nil, chunk(["tool_calls": [["index": 0, "id": "call_fake", "type": "function",
                                                                     "function": ["name": tool, "arguments": ""]] as [String: Any]]])))
            for piece in [#"{"city":"#, #""Paris"}"#] {
                try await writer.write(event(nil, chunk(["tool_calls": [["index": 0, "function": ["arguments": piece]] as [String: Any]]])))
            }
            try await writer.write(event(nil, chunk([:], finish: "tool_calls")))
            if includeUsage {
                try await writer.write(event(nil, ["id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                                                   "model": model, "choices": [Any](),
                                                   "usage": chatUsage(input: tokens.input, output: tokens.output, cached: tokens.cached)]))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        }
    }

    static func messagesToolUse(_ tool: String, model: String, stream: Bool, tokens: Tokens) -> Response {
        guard stream else {
            let usage = messagesUsage(input: tokens.input, output: tokens.output, cached: tokens.cached)
            return json(["id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                         "content": [["type": "tool_use", "id": "toolu_fake", "name": tool, "input": ["city": "Paris"]] as [String: Any]],
                         "stop_reason": "tool_use", "stop_sequence": NSNull(), "usage": usage])
        }
        return self.stream { writer in
            var startUsage = messagesUsage(input: tokens.input, output: tokens.output, cached: tokens.cached)
            startUsage["output_tokens"] = 1
            try await writer.write(event("message_start", ["type": "message_start", "message": [
                "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [Any](),
                "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": startUsage,
            ] as [String: Any]]))
            try await writer.write(event("content_block_start", ["type": "content_block_start", "index": 0,
                                                                 "content_block": ["type": "tool_use", "id": "toolu_fake", "name": tool,
                                                                                   "input": [String: Any]()] as [String: Any]]))
            for piece in [#"{"city":"#, #""Paris"}"#] {
                try await writer.write(event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                                     "delta": ["type": "input_json_delta", "partial_json": piece]]))
            }
            try await writer.write(event("content_block_stop", ["type": "content_block_stop", "index": 0]))
            try await writer.write(event("message_delta", ["type": "message_delta", "delta": ["stop_reason": "tool_use", "stop_sequence": NSNull()],
                                                           "usage": ["output_tokens": tokens.output]] as [String: Any]))
            try await writer.write(event("message_stop", ["type": "message_stop"]))
        }
    }
}
