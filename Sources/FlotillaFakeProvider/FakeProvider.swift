import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A local stand-in for an LLM provider, OpenAI- and Anthropic-shaped, for the gateway's tests,
/// demo and benchmark (no real provider can be called here). It follows the providers' documented
/// wire rules, each cited where it is used:
///
/// - OpenAI chat completions: response `{id, object: "chat.completion", created, model, choices:
///   [{index, message: {role, content}, finish_reason}], usage}` (`openai-python`:
///   `src/openai/types/chat/chat_completion.py`); streams are `data: <chunk>\n\n` events with
///   `object: "chat.completion.chunk"` and `choices[].delta`, ending `data: [DONE]`; with
///   `stream_options.include_usage` a last chunk with empty `choices` carries `usage`, and every
///   other chunk has `usage: null` (`chat_completion_chunk.py`, `chat/completion_create_params.py`).
/// - OpenAI embeddings: `{object: "list", data: [{object: "embedding", index, embedding}], model,
///   usage: {prompt_tokens, total_tokens}}` (`create_embedding_response.py`).
/// - OpenAI errors: `{"error": {message, type, param, code}}`, 401 `invalid_api_key` naming the
///   key's last characters (`openai-python`: `src/openai/_exceptions.py`; API reference "Error codes").
/// - Anthropic messages: `{id, type: "message", role, content: [{type: "text", text}], model,
///   stop_reason, stop_sequence, usage: {input_tokens, output_tokens, cache_read_input_tokens,
///   cache_creation_input_tokens}}` (`anthropic-sdk-python`: `src/anthropic/types/message.py`,
///   `usage.py`); streams send `message_start`, `content_block_start`, `content_block_delta`
///   (`text_delta`), `content_block_stop`, `message_delta` (`usage.output_tokens`) and
///   `message_stop`, each as `event: NAME\ndata: JSON\n\n` (`raw_message_stream_event.py`).
///   Keys arrive as `x-api-key`.
///
/// The expected key comes from `FLOTILLA_FAKE_PROVIDER_KEY` (never argv); when set, a request
/// without it is refused 401. Upstream model ids pick behaviours: `fake-slow` takes 100 ms per
/// word (streamed or not), `fake-die` drops the connection mid-stream, `fake-hang` answers nothing for 10 s,
/// `fake-redirect` answers 307, `fake-error` answers 500, `fake-echo-key` puts the key it got in
/// a 400 error, `fake-cached` reports cached input tokens. Every request (never the key) is kept
/// for `GET /_requests`.
public struct FakeProvider: Sendable {
    /// A request as received, for tests.
    public struct Received: Sendable {
        public var path: String
        public var body: String
        public var authorized: Bool
        /// The usage the fake reported for it: `input`, `output`, `cached`.
        public var usage: [String: Int]
        /// Its headers, without `authorization` and `x-api-key`.
        public var headers: [String: String]
    }

    /// The newest 1000 requests, in a ring: an append costs the same however many came before
    /// (the gateway benchmark sends tens of thousands through this stand-in).
    final class Log: Sendable {
        static let capacity = 1000
        private let ring = Mutex<(entries: [Received], next: Int)>(([], 0))

        func append(_ entry: Received) {
            ring.withLock { ring in
                if ring.entries.count < Self.capacity {
                    ring.entries.append(entry)
                } else {
                    ring.entries[ring.next] = entry
                }
                ring.next = (ring.next + 1) % Self.capacity
            }
        }

        /// Oldest first.
        var all: [Received] {
            ring.withLock { ring in
                ring.entries.count < Self.capacity ? ring.entries : Array(ring.entries[ring.next...] + ring.entries[..<ring.next])
            }
        }
    }

    let key: String?
    let log = Log()
    /// Whether requests are kept for `/_requests` (tests read them; the benchmark does not).
    let keepsLog: Bool

    /// The requests received so far, oldest first (at most 1000).
    public var received: [Received] { log.all }

    /// A provider that accepts only `key` (any key when nil).
    public init(key: String?, keepsLog: Bool = true) {
        self.key = key
        self.keepsLog = keepsLog
    }

    /// The provider's routes, for an `Application` (or `app.test`).
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/_requests") { _, _ in
            let entries = log.all.map { entry -> [String: Any] in
                ["path": entry.path, "body": entry.body, "authorized": entry.authorized, "usage": entry.usage, "headers": entry.headers]
            }
            return Self.json(entries)
        }
        // llama-server's health check, for the fake standing in for a board's local model:
        // 200 {"status": "ok"} once the model is loaded (llama.cpp tools/server/README.md, `GET /health`).
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.post("/v1/chat/completions") { request, context in try await handle(request, context, endpoint: .chat) }
        router.post("/v1/embeddings") { request, context in try await handle(request, context, endpoint: .embeddings) }
        router.post("/v1/messages") { request, context in try await handle(request, context, endpoint: .messages) }
        return router
    }

    enum Endpoint { case chat, embeddings, messages }

    func handle(_ request: Request, _ context: BasicRequestContext, endpoint: Endpoint) async throws -> Response {
        var request = request
        let bytes = try await request.collectBody(upTo: 16 * 1024 * 1024)
        let text = String(buffer: bytes)
        // The fields it answers by, read with a typed decoder: a stand-in that spends the shared
        // cores on dynamic JSON would starve the gateway it is benchmarked against.
        let shape = (try? JSONDecoder().decode(RequestShape.self, from: Data(text.utf8))) ?? RequestShape()
        let presented = endpoint == .messages
            ? request.headers[HTTPField.Name("x-api-key")!]
            : request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) }
        let authorized = key == nil || presented == key
        var headers: [String: String] = [:]
        if keepsLog {
            for field in request.headers where !["authorization", "x-api-key"].contains(field.name.canonicalName) {
                headers[field.name.canonicalName] = field.value
            }
        }
        let model = shape.model
        let stream = shape.stream
        let includeUsage = shape.includeUsage
        let input = shape.inputTokens
        let cached = model == "fake-cached" ? input / 2 : 0
        let words = shape.outputWords(default: model == "fake-slow" ? 50 : 8)
        let output = endpoint == .embeddings ? 0 : words
        if keepsLog {
            log.append(Received(path: request.uri.path, body: text, authorized: authorized,
                                usage: ["input": input, "output": output, "cached": cached], headers: headers))
        }
        guard authorized else {
            // OpenAI's 401 names the presented key's last four characters.
            let hint = presented.map { "...\($0.suffix(4))" } ?? "none"
            if endpoint == .messages {
                return Self.json(["type": "error", "error": ["type": "authentication_error", "message": "invalid x-api-key"]], status: .unauthorized)
            }
            return Self.json(["error": ["message": "Incorrect API key provided: \(hint).", "type": "invalid_request_error",
                                        "param": NSNull(), "code": "invalid_api_key"] as [String: Any]], status: .unauthorized)
        }
        switch model {
        case "fake-hang":
            // Long enough for any test's first-byte timeout, short enough not to hold a shutdown.
            try await Task.sleep(for: .seconds(10))
        case "fake-redirect":
            return Response(status: .temporaryRedirect, headers: [.location: "https://example.com/v1/chat/completions"])
        case "fake-error":
            return Self.json(["error": ["message": "The server had an error while processing your request.", "type": "server_error",
                                        "param": NSNull(), "code": NSNull()] as [String: Any]], status: .internalServerError)
        case "fake-unavailable":
            // 503 as both providers answer when overloaded: OpenAI's error object
            // (platform.openai.com/docs/guides/error-codes: "503 - Slow Down / overloaded"),
            // Anthropic's `overloaded_error` shape (docs.anthropic.com/en/api/errors).
            if endpoint == .messages {
                return Self.json(["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]], status: .serviceUnavailable)
            }
            return Self.json(["error": ["message": "The engine is currently overloaded, please try again later.", "type": "server_error",
                                        "param": NSNull(), "code": NSNull()] as [String: Any]], status: .serviceUnavailable)
        case "fake-echo-key":
            return Self.json(["error": ["message": "request rejected for key \(presented ?? "")", "type": "invalid_request_error",
                                        "param": NSNull(), "code": "bad_request"] as [String: Any]], status: .badRequest)
        default:
            break
        }
        switch endpoint {
        case .embeddings:
            let inputs = shape.inputItems ?? 1
            let data = (0..<inputs).map { ["object": "embedding", "index": $0, "embedding": (0..<8).map { Double($0) / 8 }] as [String: Any] }
            return Self.json(["object": "list", "data": data, "model": model, "usage": ["prompt_tokens": input, "total_tokens": input]])
        case .chat:
            if let tool = shape.toolToCall {
                return Self.chatToolCall(tool, model: model, stream: stream, includeUsage: includeUsage, tokens: (input, output, cached))
            }
            guard stream else {
                // A slow model takes 100 ms per word before its (non-streamed) answer.
                if model == "fake-slow" { try await Task.sleep(for: .milliseconds(100 * words)) }
                return Self.encoded(ChatCompletion(model: model, content: Self.text(words), input: input, output: output, cached: cached))
            }
            return Self.stream { writer in
                func chunk(_ delta: [String: Any], finish: Any = NSNull()) -> [String: Any] {
                    var chunk: [String: Any] = ["id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                                                "choices": [["index": 0, "delta": delta, "finish_reason": finish] as [String: Any]]]
                    if includeUsage { chunk["usage"] = NSNull() }
                    return chunk
                }
                try await writer.write(Self.event(nil, chunk(["role": "assistant", "content": ""])))
                for index in 0..<words {
                    if model == "fake-slow" { try await Task.sleep(for: .milliseconds(100)) }
                    if model == "fake-die", index == 2 { try await Self.die() }
                    try await writer.write(Self.event(nil, chunk(["content": "pong "])))
                }
                try await writer.write(Self.event(nil, chunk([:], finish: "stop")))
                if includeUsage {
                    try await writer.write(Self.event(nil, ["id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000,
                                                            "model": model, "choices": [Any](),
                                                            "usage": Self.chatUsage(input: input, output: output, cached: cached)]))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            }
        case .messages:
            let usage = Self.messagesUsage(input: input, output: output, cached: cached)
            if let tool = shape.toolToCall { return Self.messagesToolUse(tool, model: model, stream: stream, tokens: (input, output, cached)) }
            guard stream else {
                return Self.json([
                    "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                    "content": [["type": "text", "text": Self.text(words)]], "stop_reason": "end_turn", "stop_sequence": NSNull(),
                    "usage": usage,
                ])
            }
            return Self.stream { writer in
                var startUsage = Self.messagesUsage(input: input, output: output, cached: cached)
                startUsage["output_tokens"] = 1
                try await writer.write(Self.event("message_start", ["type": "message_start", "message": [
                    "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [Any](),
                    "stop_reason": NSNull(), "stop_sequence": NSNull(), "usage": startUsage,
                ] as [String: Any]]))
                try await writer.write(Self.event("content_block_start", ["type": "content_block_start", "index": 0,
                                                                         "content_block": ["type": "text", "text": ""]]))
                try await writer.write(Self.event("ping", ["type": "ping"]))
                for index in 0..<words {
                    if model == "fake-slow" { try await Task.sleep(for: .milliseconds(100)) }
                    if model == "fake-die", index == 2 { try await Self.die() }
                    try await writer.write(Self.event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                                             "delta": ["type": "text_delta", "text": "pong "]]))
                }
                try await writer.write(Self.event("content_block_stop", ["type": "content_block_stop", "index": 0]))
                try await writer.write(Self.event("message_delta", ["type": "message_delta",
                                                                   "delta": ["stop_reason": "end_turn", "stop_sequence": NSNull()],
                                                                   "usage": ["output_tokens": output]] as [String: Any]))
                try await writer.write(Self.event("message_stop", ["type": "message_stop"]))
            }
        }
    }

    /// Ends a stream by dropping the connection, after giving what was written time to leave.
    static func die() async throws {
        try await Task.sleep(for: .milliseconds(100))
        throw CancellationError()
    }

    static func chatUsage(input: Int, output: Int, cached: Int) -> [String: Any] {
        ["prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output, "prompt_tokens_details": ["cached_tokens": cached]]
    }

    static func messagesUsage(input: Int, output: Int, cached: Int) -> [String: Any] {
        ["input_tokens": input - cached, "output_tokens": output, "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0]
    }

    static func text(_ words: Int) -> String {
        String(repeating: "pong ", count: words)
    }

    static func event(_ name: String?, _ object: Any) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var buffer = ByteBuffer()
        if let name { buffer.writeString("event: \(name)\n") }
        buffer.writeString("data: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
    }

    static func encoded(_ value: some Encodable) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json", HTTPField.Name("x-request-id")!: "req_fake_upstream"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", HTTPField.Name("x-request-id")!: "req_fake_upstream"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func stream(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", HTTPField.Name("x-request-id")!: "req_fake_upstream"],
                 body: ResponseBody { writer in
                     try await write(&writer)
                     try await writer.finish(nil)
                 })
    }
}
