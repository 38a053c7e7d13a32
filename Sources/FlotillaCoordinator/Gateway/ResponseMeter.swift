import FlotillaProtocol
import Foundation
import NIOCore

/// Reads an upstream answer as it streams through and finds its usage, without buffering it.
///
/// What it forwards and what it holds back makes "metered before answered" hold: the last piece
/// received of a JSON answer and the terminal event of a stream (`data: [DONE]`, `message_stop`)
/// are held until the caller releases them with `finish()`, after the usage record is durable.
///
/// Rules followed (the providers' own clients):
/// - OpenAI streams are server-sent events whose data is a JSON chunk, ending with
///   `data: [DONE]`; with `stream_options.include_usage` the last chunk before it has empty
///   `choices` and the `usage` object (`openai-python`: `src/openai/_streaming.py`,
///   `src/openai/types/chat/chat_completion_chunk.py`). A chunk with an `error` key is an error
///   (`_streaming.py` raises `APIError` for it).
/// - Anthropic streams send `message_start` (input usage), `content_block_*`,
///   `message_delta` (cumulative output usage) and `message_stop`; `error` events report a
///   failure mid-stream (`anthropic-sdk-python`: `src/anthropic/lib/streaming/_messages.py`,
///   `src/anthropic/types/raw_message_stream_event.py`).
/// - Events end at a blank line (`\n\n` or `\r\n\r\n`, the WHATWG SSE format both SDKs parse in
///   `_streaming.py`'s `SSEDecoder`).
struct ResponseMeter {
    enum Mode {
        case json
        case openAIStream
        case anthropicStream
    }

    let mode: Mode
    let kind: ProviderKind
    /// For OpenAI streams: whether to pass the usage chunk on (the caller asked for it).
    let forwardUsageChunk: Bool
    /// Usage the provider reported; for Anthropic streams, input from `message_start`.
    private(set) var reported: TokenUsage?
    /// Anthropic: the latest cumulative output count from `message_delta`.
    private var anthropicOutput: Int64?
    /// Bytes of generated text streamed so far, for estimates when usage never came.
    private(set) var generatedBytes = 0
    /// The stream's terminal event arrived (or, for JSON, the body ended).
    private(set) var sawTerminal = false
    /// The upstream reported an error inside a 2xx stream.
    private(set) var sawErrorEvent = false
    /// Bytes of an event not complete yet, and where the search for its end resumes.
    private var pending: [UInt8] = []
    private var scanned = 0
    /// Set when an event grew past `maxEventBytes` (a provider not speaking SSE after all): the
    /// rest passes through unparsed and is charged by estimate.
    private(set) var overflowed = false
    private var held = ByteBuffer()
    private var usageCapture = TopLevelUsageCapture()

    init(kind: ProviderKind, stream: Bool, callerWantsStreamUsage: Bool) {
        self.kind = kind
        mode = stream ? (kind == .anthropic ? .anthropicStream : .openAIStream) : .json
        forwardUsageChunk = callerWantsStreamUsage
    }

    /// Takes the next upstream bytes; returns what can go to the caller now.
    mutating func feed(_ buffer: ByteBuffer) -> ByteBuffer {
        switch mode {
        case .json:
            // The latest piece is held whole (not the answer: one network read of it), so a small
            // answer goes out in one write after its record is durable.
            usageCapture.feed(buffer.readableBytesView)
            guard buffer.readableBytes > 0 else { return ByteBuffer() }
            let out = held
            held = buffer
            return out
        case .openAIStream, .anthropicStream:
            if overflowed {
                generatedBytes += buffer.readableBytes
                return buffer
            }
            pending.append(contentsOf: buffer.readableBytesView)
            var out = ByteBuffer()
            var consumed = 0
            while let end = Self.eventEnd(pending, from: max(consumed, scanned)) {
                let event = Array(pending[consumed..<end])
                consumed = end
                if sawTerminal {
                    held.writeBytes(event)
                } else if let forward = handle(event) {
                    out.writeBytes(forward)
                }
            }
            pending.removeFirst(consumed)
            // The next search starts just before the end (a separator may straddle the pieces).
            scanned = max(0, pending.count - 3)
            if pending.count > Self.maxEventBytes {
                overflowed = true
                generatedBytes += pending.count
                out.writeBytes(pending)
                pending.removeAll()
            }
            return out
        }
    }

    /// Longest server-sent event the meter parses (usage chunks are a few hundred bytes).
    static let maxEventBytes = 1 << 20

    /// What was held back (the last JSON piece, the terminal event, an unterminated event);
    /// call once the usage is durable.
    mutating func finish() -> ByteBuffer {
        var out = held
        out.writeBytes(pending)
        held.clear()
        pending.removeAll()
        if mode == .json, let usage = usageCapture.usage.flatMap({ ProviderUsage($0) }) {
            reported = usage.tokens(kind)
        }
        if mode == .json { sawTerminal = true }
        return out
    }

    /// The usage to charge and how it was obtained, given an estimate of the request's input.
    func charge(estimatedInput: Int64) -> (TokenUsage, UsageSource) {
        let estimatedOutput = Int64((generatedBytes + 3) / 4)
        if overflowed { return (TokenUsage(input: reported?.input ?? estimatedInput, output: estimatedOutput), .estimated) }
        switch mode {
        case .anthropicStream:
            guard var usage = reported else {
                return (TokenUsage(input: estimatedInput, output: estimatedOutput), .estimated)
            }
            if sawTerminal, anthropicOutput != nil { return (usage, .reported) }
            usage.output = max(anthropicOutput ?? 0, estimatedOutput)
            return (usage, .partial)
        case .openAIStream, .json:
            if let reported { return (reported, .reported) }
            return (TokenUsage(input: estimatedInput, output: estimatedOutput), .estimated)
        }
    }

    /// One complete event: updates the usage and returns the bytes to forward (nil: drop or hold).
    private mutating func handle(_ event: [UInt8]) -> [UInt8]? {
        let (name, data) = Self.fields(event)
        switch mode {
        case .openAIStream:
            if data.elementsEqual("[DONE]".utf8) {
                sawTerminal = true
                held.writeBytes(event)
                return nil
            }
            generatedBytes += UsageParsing.generatedTextBytes(data)
            guard Self.mentionsObject("usage", in: data) || Self.mentionsObject("error", in: data),
                  let chunk = MeteredEvent(data) else { return event }
            if chunk.hasError { sawErrorEvent = true }
            if let usage = chunk.usage {
                reported = usage.openAI
                if !forwardUsageChunk, !chunk.hasChoices { return nil }
            }
            return event
        case .anthropicStream:
            switch String(decoding: name, as: UTF8.self) {
            case "message_stop":
                sawTerminal = true
                held.writeBytes(event)
                return nil
            case "message_start":
                if let usage = MeteredEvent(data)?.messageUsage {
                    reported = usage.anthropic
                }
            case "message_delta":
                if let usage = MeteredEvent(data)?.usage {
                    anthropicOutput = usage.outputTokens
                    var total = reported ?? TokenUsage()
                    if let output = anthropicOutput { total.output = output }
                    // Newer API versions repeat the input counts here; they win when present.
                    if usage.inputTokens != nil {
                        let input = usage.anthropic
                        total.input = input.input
                        total.cached = input.cached
                        total.cacheWrite = input.cacheWrite
                    }
                    reported = total
                }
            case "error":
                sawErrorEvent = true
            default:
                generatedBytes += UsageParsing.generatedTextBytes(data)
            }
            return event
        case .json:
            return event
        }
    }

    /// Whether `data` has `"key"` followed by an object (cheap test before parsing a chunk).
    static func mentionsObject(_ key: String, in data: [UInt8]) -> Bool {
        let needle = Array("\"\(key)\"".utf8)
        guard data.count > needle.count else { return false }
        var index = 0
        while index + needle.count <= data.count {
            if data[index] == needle[0], data[index..<(index + needle.count)].elementsEqual(needle) {
                var after = index + needle.count
                while after < data.count, [0x20, 0x09, 0x3A].contains(data[after]) { after += 1 }
                if after < data.count, data[after] == UInt8(ascii: "{") { return true }
            }
            index += 1
        }
        return false
    }

    /// The end (exclusive) of the first complete event in `bytes` whose blank line starts at or
    /// after `start`.
    static func eventEnd(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 0x0A, bytes[index + 1] == 0x0A { return index + 2 }
            if bytes[index] == 0x0D, index + 3 < bytes.count, bytes[index + 1] == 0x0A, bytes[index + 2] == 0x0D, bytes[index + 3] == 0x0A {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    /// The `event:` name and the `data:` lines (joined by `\n`) of one event.
    static func fields(_ event: [UInt8]) -> (name: [UInt8], data: [UInt8]) {
        var name: [UInt8] = []
        var data: [UInt8] = []
        for rawLine in event.split(separator: 0x0A, omittingEmptySubsequences: true) {
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            func value(after prefix: String) -> ArraySlice<UInt8>? {
                guard line.starts(with: prefix.utf8) else { return nil }
                var rest = line.dropFirst(prefix.utf8.count)
                if rest.first == 0x20 { rest = rest.dropFirst() }
                return rest
            }
            if let field = value(after: "data:") {
                if !data.isEmpty { data.append(0x0A) }
                data.append(contentsOf: field)
            } else if let field = value(after: "event:") {
                name = Array(field)
            }
        }
        return (name, data)
    }
}

/// Finds the top-level `usage` object of a JSON document fed in pieces, keeping only its bytes
/// (at most 64 KiB): a whole response body never has to be held to meter it.
struct TopLevelUsageCapture {
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var readingKey = false
    private var expectingKey = false
    private var key: [UInt8] = []
    private var lastKey: [UInt8] = []
    private var capturing = false
    private var captured: [UInt8] = []
    private(set) var usage: [UInt8]?
    static let limit = 64 * 1024

    mutating func feed(_ bytes: ByteBufferView) {
        guard usage == nil else { return }
        for byte in bytes {
            if capturing, captured.count < Self.limit { captured.append(byte) }
            if inString {
                if escaped {
                    escaped = false
                    if readingKey { key.append(byte) }
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                    if readingKey { key.append(byte) }
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if readingKey {
                        readingKey = false
                        lastKey = key
                    }
                } else if readingKey {
                    key.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1, expectingKey {
                    readingKey = true
                    expectingKey = false
                    key.removeAll(keepingCapacity: true)
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 1, byte == UInt8(ascii: "{"), lastKey.elementsEqual("usage".utf8), !capturing {
                    capturing = true
                    captured = [byte]
                }
                depth += 1
                if depth == 1 { expectingKey = true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if capturing, depth == 1 {
                    capturing = false
                    usage = captured
                    return
                }
            case UInt8(ascii: ","):
                if depth == 1 {
                    expectingKey = true
                    lastKey.removeAll()
                }
            default:
                break
            }
        }
    }
}
