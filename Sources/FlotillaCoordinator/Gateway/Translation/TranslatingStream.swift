import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat

/// A provider's answer rewritten into the caller's API as it streams through the gateway (after
/// `ResponseMeter`, which has already taken the provider's usage from it and holds back its
/// terminal event until the call's record is durable).
///
/// Server-sent events, OpenAI chunks to Anthropic events: `message_start`, then per text run or
/// tool call a `content_block_start`, its `content_block_delta`s (`text_delta`,
/// `input_json_delta`) and `content_block_stop`, then at `[DONE]` a `message_delta` with the stop
/// reason and usage and `message_stop` (docs.anthropic.com/en/docs/build-with-claude/streaming).
/// Anthropic events to OpenAI chunks: one `chat.completion.chunk` per text or tool-argument
/// delta, the finish reason in the chunk after the last, then the usage chunk (when the caller
/// asked for it with `stream_options.include_usage`) and `[DONE]`
/// (platform.openai.com/docs/api-reference/chat-streaming). A non-streamed answer is collected
/// and rewritten whole (APITranslation+Responses).
struct TranslatingStream {
    enum Direction {
        /// An Anthropic caller, an OpenAI-kind provider.
        case openAIToAnthropic
        /// An OpenAI caller, an Anthropic-kind provider.
        case anthropicToOpenAI
    }

    /// Largest non-streamed answer rewritten (it is held whole).
    static let maxJSONBytes = 16 * 1024 * 1024

    let direction: Direction
    let streamed: Bool
    /// The fleet model the caller asked for: the name its answer carries.
    let model: String
    let callerWantsUsage: Bool
    let created: Date
    private var pending: [UInt8] = []
    private(set) var overflowed = false

    // Stream state.
    private var id = "translated"
    private var started = false
    private var ended = false
    private var openBlock: Int?
    private var blocks = 0
    private var blockOfToolCall: [Int: Int] = [:]
    private var toolOfBlock: [Int: Int] = [:]
    private var finishReason: String?
    private var usage: [String: Any]?

    init(direction: Direction, streamed: Bool, model: String, callerWantsUsage: Bool, created: Date = Date()) {
        self.direction = direction
        self.streamed = streamed
        self.model = model
        self.callerWantsUsage = callerWantsUsage
        self.created = created
    }

    /// What of `buffer` can go to the caller now.
    mutating func feed(_ buffer: ByteBuffer) -> ByteBuffer {
        pending += buffer.readableBytesView
        guard streamed else {
            if pending.count > Self.maxJSONBytes { overflowed = true; pending = [] }
            return ByteBuffer()
        }
        var out = ByteBuffer()
        while let end = ResponseMeter.eventEnd(pending) {
            let event = Array(pending[..<end])
            pending.removeFirst(end)
            for piece in translate(event) { Self.write(piece, to: &out) }
        }
        return out
    }

    /// The rest, once the provider's answer is complete; throws when a JSON answer is not one.
    mutating func finish() throws(CoordinatorError) -> ByteBuffer {
        guard streamed else {
            if overflowed { throw CoordinatorError(.upstreamError, "the provider's answer is too large to translate") }
            if direction == .openAIToAnthropic, let plain = APITranslation.plainMessage(fromChatCompletion: pending, model: model) {
                return ByteBuffer(bytes: plain)
            }
            let body = Data(pending)
            let translated = direction == .openAIToAnthropic
                ? try APITranslation.message(fromChatCompletion: body, model: model)
                : try APITranslation.chatCompletion(fromMessage: body, model: model, created: created)
            return ByteBuffer(data: translated)
        }
        var out = feed(ByteBuffer(bytes: Array("\n\n".utf8)))
        if !ended, started { for piece in end() { Self.write(piece, to: &out) } }
        return out
    }

    /// An event to write: an event name (Anthropic) or none, and its data.
    typealias Piece = (event: String?, data: Any)

    private static func write(_ piece: Piece, to out: inout ByteBuffer) {
        if let event = piece.event { out.writeString("event: \(event)\n") }
        out.writeString("data: ")
        if let text = piece.data as? String { out.writeString(text) } else { out.writeData(APITranslation.data(piece.data as? [String: Any] ?? [:])) }
        out.writeString("\n\n")
    }

    private mutating func translate(_ event: [UInt8]) -> [Piece] {
        let (name, data) = ResponseMeter.fields(event)
        guard !data.isEmpty else { return [] }
        if direction == .openAIToAnthropic, data == Array("[DONE]".utf8) { return end() }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any] else { return [] }
        switch direction {
        case .openAIToAnthropic: return anthropicEvents(fromChunk: object)
        case .anthropicToOpenAI: return openAIChunks(fromEvent: String(decoding: name, as: UTF8.self), object)
        }
    }

    // MARK: OpenAI chunks -> Anthropic events

    private mutating func anthropicEvents(fromChunk chunk: [String: Any]) -> [Piece] {
        if let error = chunk["error"] as? [String: Any] {
            return [("error", ["type": "error", "error": ["type": "api_error", "message": error["message"] ?? "provider error"]])]
        }
        var out: [Piece] = []
        if !started {
            started = true
            id = "msg_" + ((chunk["id"] as? String) ?? "translated")
            out.append(("message_start", ["type": "message_start", "message": [
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [Any](),
                "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": ["input_tokens": 0, "output_tokens": 0],
            ] as [String: Any]]))
        }
        if let reported = chunk["usage"] as? [String: Any] { usage = reported }
        guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { return out }
        let delta = choice["delta"] as? [String: Any] ?? [:]
        if let text = delta["content"] as? String, !text.isEmpty {
            if openBlock == nil || toolOfBlock[openBlock!] != nil { out += open(["type": "text", "text": ""]) }
            out.append(("content_block_delta", ["type": "content_block_delta", "index": openBlock!, "delta": ["type": "text_delta", "text": text]]))
        }
        for call in (delta["tool_calls"] as? [[String: Any]]) ?? [] {
            let position = (call["index"] as? NSNumber)?.intValue ?? 0
            let function = call["function"] as? [String: Any] ?? [:]
            if blockOfToolCall[position] == nil {
                out += open(["type": "tool_use", "id": call["id"] ?? "call_\(position)", "name": function["name"] ?? "", "input": [String: Any]()])
                blockOfToolCall[position] = openBlock
                toolOfBlock[openBlock!] = position
            }
            if let fragment = function["arguments"] as? String, !fragment.isEmpty, let block = blockOfToolCall[position] {
                out.append(("content_block_delta", ["type": "content_block_delta", "index": block, "delta": ["type": "input_json_delta", "partial_json": fragment]]))
            }
        }
        if let reason = choice["finish_reason"] as? String { finishReason = reason }
        return out
    }

    private mutating func open(_ block: [String: Any]) -> [Piece] {
        var out = close()
        openBlock = blocks
        out.append(("content_block_start", ["type": "content_block_start", "index": blocks, "content_block": block]))
        blocks += 1
        return out
    }

    private mutating func close() -> [Piece] {
        guard let block = openBlock else { return [] }
        openBlock = nil
        return [("content_block_stop", ["type": "content_block_stop", "index": block])]
    }

    private mutating func end() -> [Piece] {
        guard !ended else { return [] }
        ended = true
        var out = close()
        out.append(("message_delta", ["type": "message_delta", "delta": ["stop_reason": APITranslation.stopReason(fromFinish: finishReason), "stop_sequence": NSNull()],
                                      "usage": APITranslation.anthropicUsage(fromOpenAI: usage)] as [String: Any]))
        out.append(("message_stop", ["type": "message_stop"]))
        return out
    }

    // MARK: Anthropic events -> OpenAI chunks

    private func chunk(_ delta: [String: Any], finish: String? = nil) -> Piece {
        (nil, ["id": "chatcmpl-" + id, "object": "chat.completion.chunk", "created": Int(created.timeIntervalSince1970), "model": model,
               "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]]] as [String: Any])
    }

    private mutating func openAIChunks(fromEvent name: String, _ event: [String: Any]) -> [Piece] {
        switch event["type"] as? String ?? name {
        case "message_start":
            let message = event["message"] as? [String: Any] ?? [:]
            id = (message["id"] as? String) ?? id
            usage = message["usage"] as? [String: Any]
            started = true
            return [chunk(["role": "assistant", "content": ""])]
        case "content_block_start":
            let index = (event["index"] as? NSNumber)?.intValue ?? 0
            guard let block = event["content_block"] as? [String: Any], block["type"] as? String == "tool_use" else { return [] }
            let position = toolOfBlock.count
            toolOfBlock[index] = position
            return [chunk(["tool_calls": [["index": position, "id": block["id"] ?? "", "type": "function",
                                           "function": ["name": block["name"] ?? "", "arguments": ""]]]])]
        case "content_block_delta":
            let index = (event["index"] as? NSNumber)?.intValue ?? 0
            let delta = event["delta"] as? [String: Any] ?? [:]
            switch delta["type"] as? String {
            case "text_delta": return [chunk(["content": delta["text"] ?? ""])]
            case "input_json_delta":
                guard let position = toolOfBlock[index] else { return [] }
                return [chunk(["tool_calls": [["index": position, "function": ["arguments": delta["partial_json"] ?? ""]]]])]
            default: return []
            }
        case "message_delta":
            if let reported = event["usage"] as? [String: Any] { usage = (usage ?? [:]).merging(reported) { _, new in new } }
            let reason = (event["delta"] as? [String: Any])?["stop_reason"] as? String
            return [chunk([:], finish: APITranslation.finishReason(fromStop: reason))]
        case "message_stop":
            ended = true
            var out: [Piece] = []
            if callerWantsUsage {
                out.append((nil, ["id": "chatcmpl-" + id, "object": "chat.completion.chunk", "created": Int(created.timeIntervalSince1970),
                                  "model": model, "choices": [Any](), "usage": APITranslation.openAIUsage(fromAnthropic: usage)] as [String: Any]))
            }
            out.append((nil, "[DONE]"))
            return out
        case "error":
            let error = event["error"] as? [String: Any] ?? [:]
            return [(nil, ["error": ["type": "server_error", "code": "upstream_stream_error", "message": error["message"] ?? "provider error"]])]
        default:
            return []  // ping, thinking and signature deltas have no Chat Completions form
        }
    }
}
