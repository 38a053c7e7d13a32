import FlotillaProtocol
import NIOCore

/// A caller's request body, read as far as the gateway needs: the model, whether it streams and
/// whether the caller asked for usage in the stream, and its output token cap. The body is
/// forwarded byte for byte except for the spliced `model` (the upstream id) and, for OpenAI
/// streams, `stream_options.include_usage: true` so every stream can be metered.
struct GatewayRequest: Sendable {
    let endpoint: GatewayEndpoint
    let body: [UInt8]
    private let spans: JSONSpans
    /// The model name the caller asked for.
    let model: String
    let stream: Bool
    /// Whether the caller itself asked for the usage chunk of an OpenAI stream.
    let callerWantsStreamUsage: Bool
    /// `max_tokens` / `max_completion_tokens` when given (budgets reserve against it).
    let maxOutputTokens: Int64?
    /// How many completions the call asks for (`n`, OpenAI), 1 to `maxChoices`.
    let choices: Int64

    /// Reads `body`; throws `invalid_request` when it is not a JSON object with a string `model`.
    init(endpoint: GatewayEndpoint, body: [UInt8]) throws(CoordinatorError) {
        guard let spans = JSONSpans(body) else {
            throw CoordinatorError(.invalidRequest, "the request body must be a JSON object")
        }
        // A key given twice could be read differently by the gateway and the provider.
        for key in ["model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "n"]
        where spans.members.filter({ $0.key == key }).count > 1 {
            throw CoordinatorError(.invalidRequest, "'\(key)' appears more than once in the request body")
        }
        guard let model = spans.string("model", in: body), !model.isEmpty else {
            throw CoordinatorError(.invalidRequest, "the request body needs a 'model' string")
        }
        self.endpoint = endpoint
        self.body = body
        self.spans = spans
        self.model = model
        stream = endpoint != .embeddings && spans.bool("stream", in: body) == true
        if let options = spans.member("stream_options"), let inner = JSONSpans(body, from: options.value.lowerBound, to: options.value.upperBound) {
            callerWantsStreamUsage = inner.bool("include_usage", in: body) == true
        } else {
            callerWantsStreamUsage = false
        }
        maxOutputTokens = spans.integer("max_completion_tokens", in: body) ?? spans.integer("max_tokens", in: body)
        choices = min(max(1, spans.integer("n", in: body) ?? 1), Self.maxChoices)
    }

    /// Most completions (`n`) one call may ask for when a budget must hold its worst case.
    static let maxChoices: Int64 = 128

    /// What the usage record and estimates need once the body is gone.
    var summary: RequestSummary {
        RequestSummary(model: GatewayRules.isValidModelName(model) ? model : "(invalid)", stream: stream,
                       callerWantsStreamUsage: callerWantsStreamUsage, maxOutputTokens: maxOutputTokens,
                       estimatedInputTokens: estimatedInputTokens, inputUpperBoundTokens: inputUpperBoundTokens,
                       choices: endpoint == .chatCompletions ? choices : 1, producesOutput: endpoint != .embeddings)
    }

    /// The body to send upstream. With `outputCap` (a call whose budget reserved that many output
    /// tokens) the call's output limit is clamped to it, or set when the call gave none, so the
    /// provider cannot produce more than was reserved.
    func forwardBody(upstreamModel: String, outputCap: Int64? = nil) -> ByteBuffer {
        var edits: [(range: Range<Int>, replacement: [UInt8])] = []
        if let member = spans.member("model") {
            edits.append((member.value, Self.jsonString(upstreamModel)))
        }
        if let outputCap, endpoint != .embeddings {
            edits.append(contentsOf: outputCapEdits(outputCap))
        }
        if stream, endpoint == .chatCompletions, !callerWantsStreamUsage {
            edits.append(contentsOf: streamUsageEdit())
        }
        edits.sort { $0.range.lowerBound < $1.range.lowerBound }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(body.count + 64)
        var cursor = 0
        for edit in edits {
            buffer.writeBytes(body[cursor..<edit.range.lowerBound])
            buffer.writeBytes(edit.replacement)
            cursor = edit.range.upperBound
        }
        buffer.writeBytes(body[cursor...])
        return buffer
    }

    /// Lowers `max_completion_tokens` / `max_tokens` above `cap` to it, or adds the cap (as
    /// `max_completion_tokens` for OpenAI chat, `max_tokens` for Anthropic messages).
    private func outputCapEdits(_ cap: Int64) -> [(range: Range<Int>, replacement: [UInt8])] {
        let given = ["max_completion_tokens", "max_tokens"].compactMap { spans.member($0) }
        guard !given.isEmpty else {
            let name = endpoint == .messages ? "max_tokens" : "max_completion_tokens"
            let at = spans.closingBrace
            return [(at..<at, Array("\(spans.members.isEmpty ? "" : ",")\"\(name)\":\(cap)".utf8))]
        }
        return given.compactMap { member in
            if let value = Int64(String(decoding: body[member.value], as: UTF8.self)), value <= cap { return nil }
            return (member.value, Array(String(cap).utf8))
        }
    }

    /// Turns on `stream_options.include_usage`, keeping any other stream options.
    private func streamUsageEdit() -> [(range: Range<Int>, replacement: [UInt8])] {
        guard let options = spans.member("stream_options") else {
            let insertAt = spans.closingBrace
            let separator = spans.members.isEmpty ? "" : ","
            return [(insertAt..<insertAt, Array("\(separator)\"stream_options\":{\"include_usage\":true}".utf8))]
        }
        guard let inner = JSONSpans(body, from: options.value.lowerBound, to: options.value.upperBound) else {
            // null or another non-object: replace it.
            return [(options.value, Array("{\"include_usage\":true}".utf8))]
        }
        if let flag = inner.member("include_usage") {
            return [(flag.value, Array("true".utf8))]
        }
        let at = inner.openingBrace + 1
        return [(at..<at, Array((inner.members.isEmpty ? "\"include_usage\":true" : "\"include_usage\":true,").utf8))]
    }

    /// A rough input token count for streams cut short before the provider reported usage:
    /// the bytes of every string in the prompt-bearing members, at about 4 bytes per token.
    var estimatedInputTokens: Int64 {
        var bytes = 0
        for key in ["messages", "input", "system", "prompt", "tools"] {
            guard let member = spans.member(key) else { continue }
            bytes += Self.stringBytes(body, member.value)
        }
        return Int64((bytes + 3) / 4)
    }

    /// Tokens an image (a base64 blob) may count as input at most: providers bill images by their
    /// pixels, well under this (OpenAI about 1,100 at high detail, Anthropic about 1,600).
    static let tokensPerBlob = 5_000
    /// Tokens the chat format may add around each message or part (role markers, separators) and
    /// once for the reply; providers document 3–4 per message.
    static let tokensPerObject = 10
    /// Top-level members that set how the call runs and are not billed as input.
    static let settingMembers: Set<String> = [
        "model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "n",
        "seed", "user", "metadata", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "logit_bias",
        "parallel_tool_calls", "store", "service_tier", "encoding_format", "dimensions", "stop", "stop_sequences",
    ]

    /// At least as many input tokens as the request can be billed for: a token is never less than
    /// a byte of text, so every string and number of the billed members counts byte for byte,
    /// plus `tokensPerObject` per object or list element and once more, except base64 blobs
    /// (images) and content by reference (an `http(s)` URL, a `file_id`), which count
    /// `tokensPerBlob` each. Budgets reserve against this. A document fetched by reference can
    /// bill more; `GatewayMetering` records the overrun and raises a `budget_overrun` event.
    var inputUpperBoundTokens: Int64 {
        var total = Self.tokensPerObject
        for member in spans.members where !Self.settingMembers.contains(member.key) {
            var lastKey: ArraySlice<UInt8> = []
            JSONByteScanner.forEachString(in: body, member.value) { string, isKey in
                if isKey {
                    lastKey = body[string]
                    return
                }
                let text = body[string]
                let reference = text.starts(with: "http://".utf8) || text.starts(with: "https://".utf8)
                    || lastKey.elementsEqual("file_id".utf8)
                let blob = string.count >= 1024 && Self.isBase64Blob(text)
                total += reference || blob ? Self.tokensPerBlob : string.count
            }
            for byte in body[member.value] {
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: ",") { total += Self.tokensPerObject }
            }
            total += Self.scalarBytes(body, member.value)
        }
        return Int64(total)
    }

    /// Bytes of the numbers and literals (outside strings) in `range`.
    static func scalarBytes(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        var total = 0
        var inString = false
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") {
                total += 1
            }
            index += 1
        }
        return total
    }

    /// A `data:…;base64,…` URL or a long run of base64 characters.
    static func isBase64Blob(_ bytes: ArraySlice<UInt8>) -> Bool {
        if bytes.starts(with: "data:".utf8) { return true }
        return bytes.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39)
            || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\\") }
    }

    /// The number of bytes inside the string values (not the keys) in `range`.
    static func stringBytes(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        var total = 0
        JSONByteScanner.forEachString(in: bytes, range) { string, isKey in
            if !isKey { total += string.count }
        }
        return total
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }
}
