import FlotillaProtocol
import Foundation

/// Chat Completions requests to an Anthropic-kind provider (APITranslation).
extension APITranslation {
    /// Fields of a Chat Completions request with no Messages counterpart. `n` above 1 and
    /// `response_format` other than text are checked on their own.
    static let openAIOnly = ["logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "seed", "audio",
                             "modalities", "prediction", "functions", "function_call", "web_search_options", "reasoning_effort"]

    /// A Chat Completions body as an Anthropic Messages body for `upstreamModel`.
    static func messages(fromChatCompletions body: [UInt8], upstreamModel: String, outputCap: Int64?) throws(CoordinatorError) -> Data {
        let request = try object(body)
        for field in openAIOnly where request[field] != nil && !(request[field] is NSNull) {
            throw refuse(field, "has no Messages counterpart")
        }
        if let n = request["n"] as? NSNumber, n.intValue != 1 { throw refuse("n", "above 1 has no Messages counterpart") }
        if let format = request["response_format"] as? [String: Any], format["type"] as? String != "text" {
            throw refuse("response_format", "other than text has no Messages counterpart")
        }
        var out: [String: Any] = ["model": upstreamModel]
        guard let given = request["messages"] as? [[String: Any]] else { throw CoordinatorError(.invalidRequest, "'messages' must be an array of objects") }
        var system: [String] = []
        var messages: [[String: Any]] = []
        for (index, message) in given.enumerated() {
            let field = "messages[\(index)]"
            switch message["role"] as? String {
            case "system", "developer":
                system.append(try text(ofOpenAI: message["content"] ?? "", field: "\(field).content"))
            case "user":
                append(&messages, role: "user", blocks: try blocks(ofOpenAI: message["content"] ?? "", field: "\(field).content"))
            case "assistant":
                var content: [[String: Any]] = []
                if let text = message["content"], !(text is NSNull) {
                    content += try blocks(ofOpenAI: text, field: "\(field).content").filter { $0["type"] as? String == "text" && !($0["text"] as? String ?? "").isEmpty }
                }
                for (position, call) in ((message["tool_calls"] as? [[String: Any]]) ?? []).enumerated() {
                    guard let id = call["id"] as? String, let function = call["function"] as? [String: Any], let name = function["name"] as? String else {
                        throw CoordinatorError(.invalidRequest, "'\(field).tool_calls[\(position)]' needs an id and a function name")
                    }
                    let arguments = (function["arguments"] as? String) ?? "{}"
                    guard let input = try? JSONSerialization.jsonObject(with: Data(arguments.utf8)) as? [String: Any] else {
                        throw refuse("\(field).tool_calls[\(position)].function.arguments", "is not a JSON object, which Messages' tool_use input must be")
                    }
                    content.append(["type": "tool_use", "id": id, "name": name, "input": input])
                }
                append(&messages, role: "assistant", blocks: content)
            case "tool":
                guard let id = message["tool_call_id"] as? String else { throw CoordinatorError(.invalidRequest, "'\(field).tool_call_id' is missing") }
                let result: [String: Any] = ["type": "tool_result", "tool_use_id": id,
                                             "content": try text(ofOpenAI: message["content"] ?? "", field: "\(field).content")]
                append(&messages, role: "user", blocks: [result])
            default:
                throw refuse("\(field).role", "'\(message["role"] ?? "")' has no Messages counterpart")
            }
        }
        if !system.isEmpty { out["system"] = system.joined(separator: "\n\n") }
        out["messages"] = messages
        var cap = ((request["max_completion_tokens"] ?? request["max_tokens"]) as? NSNumber)?.int64Value ?? Int64(defaultMaxTokens)
        if let outputCap { cap = min(cap, outputCap) }
        out["max_tokens"] = cap
        if let temperature = request["temperature"] as? NSNumber {
            // Messages takes 0…1; Chat Completions 0…2.
            guard temperature.doubleValue <= 1 else { throw refuse("temperature", "above 1 is outside Messages' range (0 to 1)") }
            out["temperature"] = temperature
        }
        if let topP = request["top_p"] { out["top_p"] = topP }
        if let stop = request["stop"] as? String { out["stop_sequences"] = [stop] } else if let stops = request["stop"] as? [String] { out["stop_sequences"] = stops }
        if let user = request["user"] as? String { out["metadata"] = ["user_id": user] }
        if let tools = request["tools"] as? [[String: Any]] {
            out["tools"] = try tools.enumerated().map { index, tool throws(CoordinatorError) -> [String: Any] in
                guard tool["type"] as? String == "function", let function = tool["function"] as? [String: Any], let name = function["name"] as? String else {
                    throw refuse("tools[\(index)]", "is not a function tool")
                }
                var out: [String: Any] = ["name": name, "input_schema": function["parameters"] ?? ["type": "object", "properties": [String: Any]()]]
                if let description = function["description"] { out["description"] = description }
                return out
            }
        }
        if let choice = request["tool_choice"] {
            var mapped: [String: Any]
            switch choice {
            case let text as String where text == "auto": mapped = ["type": "auto"]
            case let text as String where text == "required": mapped = ["type": "any"]
            case let text as String where text == "none": mapped = ["type": "none"]
            case let named as [String: Any]:
                guard let function = named["function"] as? [String: Any], let name = function["name"] as? String else { throw refuse("tool_choice", "names no function") }
                mapped = ["type": "tool", "name": name]
            default: throw refuse("tool_choice", "is not auto, required, none or a function")
            }
            if request["parallel_tool_calls"] as? Bool == false, mapped["type"] as? String != "none" { mapped["disable_parallel_tool_use"] = true }
            out["tool_choice"] = mapped
        }
        if request["stream"] as? Bool == true { out["stream"] = true }
        return data(out)
    }

    /// Appends `blocks` as a `role` message, merged into the previous one when it has the same
    /// role (Messages alternates user and assistant; consecutive tool results are one user turn).
    private static func append(_ messages: inout [[String: Any]], role: String, blocks: [[String: Any]]) {
        guard !blocks.isEmpty else { return }
        if var last = messages.last, last["role"] as? String == role, let previous = last["content"] as? [[String: Any]] {
            last["content"] = previous + blocks
            messages[messages.count - 1] = last
        } else {
            messages.append(["role": role, "content": blocks])
        }
    }

    /// A Chat Completions content (a string or parts) as Messages blocks.
    static func blocks(ofOpenAI content: Any, field: String) throws(CoordinatorError) -> [[String: Any]] {
        if let text = content as? String { return [["type": "text", "text": text]] }
        guard let parts = content as? [[String: Any]] else { throw CoordinatorError(.invalidRequest, "'\(field)' must be a string or content parts") }
        return try parts.enumerated().map { index, part throws(CoordinatorError) -> [String: Any] in
            switch part["type"] as? String {
            case "text":
                return ["type": "text", "text": part["text"] as? String ?? ""]
            case "image_url":
                let url = ((part["image_url"] as? [String: Any])?["url"] as? String) ?? ""
                if url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") {
                    let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(7))
                    return ["type": "image", "source": ["type": "base64", "media_type": mediaType, "data": String(url[url.index(after: comma)...])]]
                }
                return ["type": "image", "source": ["type": "url", "url": url]]
            default:
                throw refuse("\(field)[\(index)].type", "'\(part["type"] ?? "")' has no Messages counterpart")
            }
        }
    }

    /// A Chat Completions content as plain text (system messages, tool results).
    static func text(ofOpenAI content: Any, field: String) throws(CoordinatorError) -> String {
        if let text = content as? String { return text }
        let blocks = try blocks(ofOpenAI: content, field: field)
        var texts: [String] = []
        for (index, block) in blocks.enumerated() {
            guard let text = block["text"] as? String else { throw refuse("\(field)[\(index)]", "is not text") }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }
}
