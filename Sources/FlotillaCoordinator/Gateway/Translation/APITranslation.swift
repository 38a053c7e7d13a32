import FlotillaProtocol
import Foundation

/// Requests in one client API sent to a provider of the other kind: an Anthropic Messages call
/// to an OpenAI-kind provider's Chat Completions, or a Chat Completions call to an
/// Anthropic-kind provider's Messages. Each rule follows the two APIs' references
/// (OpenAI: platform.openai.com/docs/api-reference/chat/create; Anthropic:
/// docs.anthropic.com/en/api/messages) and, where they meet, Anthropic's own OpenAI
/// compatibility notes (docs.anthropic.com/en/api/openai-sdk). A field with no counterpart is
/// refused with `field_not_translatable`, naming it, rather than dropped: a caller must never
/// get an answer to a different question than it asked.
enum APITranslation {
    /// Output tokens asked of an Anthropic provider when an OpenAI caller names no cap
    /// (`max_tokens` is required by Messages).
    static let defaultMaxTokens = 4096

    static func refuse(_ field: String, _ why: String) -> CoordinatorError {
        CoordinatorError(.fieldNotTranslatable, "'\(field)' \(why): the model's provider speaks the other API and this cannot be translated")
    }

    static func object(_ body: [UInt8]) throws(CoordinatorError) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw CoordinatorError(.invalidRequest, "the request body must be a JSON object")
        }
        return object
    }

    static func data(_ object: [String: Any]) -> Data {
        JSONObjectWriter.data(object) ?? Data()
    }

    // MARK: Anthropic Messages -> OpenAI Chat Completions

    /// Fields of a Messages request that have no Chat Completions counterpart.
    static let anthropicOnly = ["top_k", "thinking", "container", "mcp_servers", "service_tier", "cache_control"]

    /// An Anthropic Messages body as a Chat Completions body for `upstreamModel`.
    static func chatCompletions(fromMessages body: [UInt8], upstreamModel: String, outputCap: Int64?) throws(CoordinatorError) -> Data {
        if let plain = plainChatCompletions(fromMessages: body, upstreamModel: upstreamModel, outputCap: outputCap) { return Data(plain) }
        return try generalChatCompletions(fromMessages: body, upstreamModel: upstreamModel, outputCap: outputCap)
    }

    /// `chatCompletions(fromMessages:)` for any request, from the parsed document.
    static func generalChatCompletions(fromMessages body: [UInt8], upstreamModel: String, outputCap: Int64?) throws(CoordinatorError) -> Data {
        let request = try object(body)
        var out: [String: Any] = ["model": upstreamModel]
        for field in anthropicOnly where request[field] != nil { throw refuse(field, "has no Chat Completions counterpart") }
        var messages: [[String: Any]] = []
        // `system`: a string or text blocks; Chat Completions has a system message.
        if let system = request["system"] {
            messages.append(["role": "system", "content": try text(of: system, field: "system")])
        }
        guard let given = request["messages"] as? [[String: Any]] else { throw CoordinatorError(.invalidRequest, "'messages' must be an array of objects") }
        for (index, message) in given.enumerated() {
            messages += try chatMessages(fromAnthropic: message, field: "messages[\(index)]")
        }
        out["messages"] = messages
        var cap = (request["max_tokens"] as? NSNumber)?.int64Value
        if let outputCap { cap = min(cap ?? outputCap, outputCap) }
        if let cap { out["max_completion_tokens"] = cap }
        for field in ["temperature", "top_p"] { if let value = request[field] { out[field] = value } }
        if let stops = request["stop_sequences"] { out["stop"] = stops }
        if let metadata = request["metadata"] as? [String: Any], let user = metadata["user_id"] { out["user"] = user }
        if let tools = request["tools"] as? [[String: Any]] {
            out["tools"] = try tools.enumerated().map { index, tool throws(CoordinatorError) -> [String: Any] in
                guard let name = tool["name"] as? String else { throw refuse("tools[\(index)]", "is not a client tool with a name (server tools are Anthropic's own)") }
                if let type = tool["type"] as? String, type != "custom" { throw refuse("tools[\(index)].type", "'\(type)' is a tool only Anthropic runs") }
                var function: [String: Any] = ["name": name, "parameters": tool["input_schema"] ?? ["type": "object"]]
                if let description = tool["description"] { function["description"] = description }
                return ["type": "function", "function": function]
            }
        }
        if let choice = request["tool_choice"] as? [String: Any] {
            switch choice["type"] as? String {
            case "auto": out["tool_choice"] = "auto"
            case "any": out["tool_choice"] = "required"
            case "none": out["tool_choice"] = "none"
            case "tool": out["tool_choice"] = ["type": "function", "function": ["name": choice["name"] ?? ""]]
            default: throw refuse("tool_choice.type", "is not auto, any, tool or none")
            }
            if choice["disable_parallel_tool_use"] as? Bool == true { out["parallel_tool_calls"] = false }
        }
        if request["stream"] as? Bool == true {
            out["stream"] = true
            out["stream_options"] = ["include_usage": true]
        }
        return data(out)
    }

    /// One Anthropic message as Chat Completions messages: tool results become `tool` messages
    /// (one per result, in order), assistant `tool_use` blocks become `tool_calls`.
    static func chatMessages(fromAnthropic message: [String: Any], field: String) throws(CoordinatorError) -> [[String: Any]] {
        guard let role = message["role"] as? String, role == "user" || role == "assistant" else {
            throw CoordinatorError(.invalidRequest, "'\(field).role' must be user or assistant")
        }
        if let text = message["content"] as? String { return [["role": role, "content": text]] }
        guard let blocks = message["content"] as? [[String: Any]] else { throw CoordinatorError(.invalidRequest, "'\(field).content' must be a string or blocks") }
        var parts: [[String: Any]] = []
        var calls: [[String: Any]] = []
        var results: [[String: Any]] = []
        for (index, block) in blocks.enumerated() {
            let at = "\(field).content[\(index)]"
            switch block["type"] as? String {
            case "text":
                parts.append(["type": "text", "text": block["text"] as? String ?? ""])
            case "image":
                guard role == "user", let source = block["source"] as? [String: Any] else { throw refuse(at, "is an image outside a user message") }
                switch source["type"] as? String {
                case "base64": parts.append(["type": "image_url", "image_url": ["url": "data:\(source["media_type"] ?? "image/png");base64,\(source["data"] ?? "")"]])
                case "url": parts.append(["type": "image_url", "image_url": ["url": source["url"] ?? ""]])
                default: throw refuse("\(at).source.type", "is not base64 or url")
                }
            case "tool_use":
                guard role == "assistant", let id = block["id"] as? String, let name = block["name"] as? String else {
                    throw CoordinatorError(.invalidRequest, "'\(at)' must be an assistant tool_use with an id and a name")
                }
                let input = JSONObjectWriter.data(block["input"] ?? [String: Any]()) ?? Data("{}".utf8)
                calls.append(["id": id, "type": "function", "function": ["name": name, "arguments": String(decoding: input, as: UTF8.self)]])
            case "tool_result":
                guard role == "user", let id = block["tool_use_id"] as? String else {
                    throw CoordinatorError(.invalidRequest, "'\(at)' must be a user tool_result with a tool_use_id")
                }
                if block["is_error"] as? Bool == true { throw refuse("\(at).is_error", "has no Chat Completions counterpart") }
                results.append(["role": "tool", "tool_call_id": id, "content": try text(of: block["content"] ?? "", field: "\(at).content")])
            default:
                throw refuse("\(at).type", "'\(block["type"] ?? "")' has no Chat Completions counterpart")
            }
        }
        var out = results
        if !parts.isEmpty || !calls.isEmpty {
            var message: [String: Any] = ["role": role]
            let onlyText = parts.allSatisfy { $0["type"] as? String == "text" }
            if parts.isEmpty {
                message["content"] = NSNull()
            } else if onlyText {
                message["content"] = parts.map { $0["text"] as? String ?? "" }.joined()
            } else {
                message["content"] = parts
            }
            if !calls.isEmpty { message["tool_calls"] = calls }
            out.append(message)
        }
        return out
    }

    /// A string, or the text of text blocks.
    static func text(of value: Any, field: String) throws(CoordinatorError) -> String {
        if let text = value as? String { return text }
        guard let blocks = value as? [[String: Any]] else { throw CoordinatorError(.invalidRequest, "'\(field)' must be a string or text blocks") }
        var texts: [String] = []
        for (index, block) in blocks.enumerated() {
            guard block["type"] as? String == "text", let text = block["text"] as? String else {
                throw refuse("\(field)[\(index)]", "is not a text block")
            }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }
}
