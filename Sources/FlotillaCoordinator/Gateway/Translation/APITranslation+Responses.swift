import FlotillaProtocol
import Foundation

/// Answers of the provider in the caller's API (non-streamed; streams: TranslatingStream).
/// Stop reasons: Chat Completions' `finish_reason` (stop, length, tool_calls, content_filter)
/// against Messages' `stop_reason` (end_turn, stop_sequence, max_tokens, tool_use, refusal,
/// pause_turn), as Anthropic's OpenAI compatibility notes pair them. Usage: Messages counts
/// cached input apart (`cache_read_input_tokens`, `cache_creation_input_tokens`), Chat
/// Completions inside `prompt_tokens` with `prompt_tokens_details.cached_tokens`.
extension APITranslation {
    static func stopReason(fromFinish reason: String?) -> String {
        switch reason {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: "end_turn"
        }
    }

    static func finishReason(fromStop reason: String?) -> String {
        switch reason {
        case "max_tokens": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        default: "stop"
        }
    }

    /// A provider's token count, clamped to 0...Int32.max so that the sums and differences below
    /// cannot overflow whatever a provider sends.
    static func tokenCount(_ value: Any?) -> Int {
        min(max((value as? NSNumber)?.intValue ?? 0, 0), Int(Int32.max))
    }

    static func anthropicUsage(fromOpenAI usage: [String: Any]?) -> [String: Any] {
        let prompt = tokenCount(usage?["prompt_tokens"])
        let cached = tokenCount((usage?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"])
        return ["input_tokens": max(0, prompt - cached), "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0,
                "output_tokens": tokenCount(usage?["completion_tokens"])]
    }

    static func openAIUsage(fromAnthropic usage: [String: Any]?) -> [String: Any] {
        func count(_ key: String) -> Int { tokenCount(usage?[key]) }
        let prompt = count("input_tokens") + count("cache_read_input_tokens") + count("cache_creation_input_tokens")
        return ["prompt_tokens": prompt, "completion_tokens": count("output_tokens"), "total_tokens": prompt + count("output_tokens"),
                "prompt_tokens_details": ["cached_tokens": count("cache_read_input_tokens")]]
    }

    /// A Chat Completions answer as a Messages answer, named `model` (the fleet model asked for).
    static func message(fromChatCompletion body: Data, model: String) throws(CoordinatorError) -> Data {
        guard let answer = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              let choice = (answer["choices"] as? [[String: Any]])?.first, let message = choice["message"] as? [String: Any]
        else { throw CoordinatorError(.upstreamError, "the provider's answer is not a chat completion") }
        var content: [[String: Any]] = []
        if let text = message["content"] as? String, !text.isEmpty { content.append(["type": "text", "text": text]) }
        for call in (message["tool_calls"] as? [[String: Any]]) ?? [] {
            let function = call["function"] as? [String: Any] ?? [:]
            let arguments = function["arguments"] as? String ?? "{}"
            let input = (try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) as? [String: Any] ?? [:]
            content.append(["type": "tool_use", "id": call["id"] ?? "", "name": function["name"] ?? "", "input": input])
        }
        return data([
            "id": "msg_" + ((answer["id"] as? String) ?? "translated"), "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": stopReason(fromFinish: choice["finish_reason"] as? String), "stop_sequence": NSNull(),
            "usage": anthropicUsage(fromOpenAI: answer["usage"] as? [String: Any]),
        ])
    }

    /// A Messages answer as a Chat Completions answer, named `model`.
    static func chatCompletion(fromMessage body: Data, model: String, created: Date) throws(CoordinatorError) -> Data {
        guard let answer = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let blocks = answer["content"] as? [[String: Any]] else {
            throw CoordinatorError(.upstreamError, "the provider's answer is not a message")
        }
        var texts: [String] = []
        var calls: [[String: Any]] = []
        for block in blocks {
            switch block["type"] as? String {
            case "text": texts.append(block["text"] as? String ?? "")
            case "tool_use":
                let input = JSONObjectWriter.data(block["input"] ?? [String: Any]()) ?? Data("{}".utf8)
                calls.append(["id": block["id"] ?? "", "type": "function",
                              "function": ["name": block["name"] ?? "", "arguments": String(decoding: input, as: UTF8.self)]])
            default: continue  // thinking and server-tool blocks have no Chat Completions form
            }
        }
        var message: [String: Any] = ["role": "assistant", "content": texts.isEmpty ? NSNull() : texts.joined()]
        if !calls.isEmpty { message["tool_calls"] = calls }
        return data([
            "id": "chatcmpl-" + ((answer["id"] as? String) ?? "translated"), "object": "chat.completion",
            "created": Int(created.timeIntervalSince1970), "model": model,
            "choices": [["index": 0, "message": message, "finish_reason": finishReason(fromStop: answer["stop_reason"] as? String)]],
            "usage": openAIUsage(fromAnthropic: answer["usage"] as? [String: Any]),
        ])
    }
}
