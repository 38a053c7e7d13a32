import FlotillaProtocol
import Foundation

/// Metering's rules for what answers report: the cap on a token count, and the estimate of
/// generated text for a stream that ended before its usage (the usage objects themselves are
/// read by `ProviderUsage`).
enum UsageParsing {
    /// Most tokens one count may claim: a provider (or a compatible server) reporting more, or a
    /// negative count, is clamped, so a bogus number can neither overflow the cost nor credit it.
    static let maxTokens: Int64 = 1_000_000_000

    /// Keys whose string values are generated text, counted to estimate output tokens of a
    /// stream that ended before the provider reported usage.
    static let generatedTextKeys: Set<String> = [
        "content", "text", "partial_json", "thinking", "arguments", "refusal", "reasoning_content", "reasoning",
    ]

    /// Bytes of generated text in one streamed event's JSON: string values of `generatedTextKeys`.
    static func generatedTextBytes(_ bytes: [UInt8]) -> Int {
        var total = 0
        var lastKey: ArraySlice<UInt8>?
        JSONByteScanner.forEachString(in: bytes, 0..<bytes.count) { string, isKey in
            if isKey {
                lastKey = bytes[string]
            } else {
                if let key = lastKey, generatedTextKeys.contains(String(decoding: key, as: UTF8.self)) { total += string.count }
                lastKey = nil
            }
        }
        return total
    }
}

/// A provider's usage object, either API's fields, read from its bytes with `JSONSpans` (no
/// dictionary of `Any` built per answer): a count that is missing, null or not a number is nil
/// (the rest of the object still counts), and a number is clamped to
/// `0...UsageParsing.maxTokens`.
///
/// - OpenAI (`openai-python`: `src/openai/types/completion_usage.py`,
///   `src/openai/types/create_embedding_response.py`): `prompt_tokens` (cached ones included),
///   `completion_tokens`, `prompt_tokens_details.cached_tokens`.
/// - Anthropic (`anthropic-sdk-python`: `src/anthropic/types/usage.py`,
///   `message_delta_usage.py`): `input_tokens` (cache reads and writes excluded),
///   `cache_read_input_tokens`, `cache_creation_input_tokens`, `output_tokens` (cumulative in
///   `message_delta`).
struct ProviderUsage: Sendable, Equatable {
    var promptTokens: Int64?
    var completionTokens: Int64?
    /// OpenAI's `prompt_tokens_details.cached_tokens`.
    var cachedTokens: Int64?
    var inputTokens: Int64?
    var outputTokens: Int64?
    var cacheReadInputTokens: Int64?
    var cacheCreationInputTokens: Int64?

    /// The object in `bytes[range]` (all of `bytes` by default); nil when it is not an object.
    init?(_ bytes: [UInt8], _ range: Range<Int>? = nil) {
        guard let object = JSONSpans(bytes, from: range?.lowerBound ?? 0, to: range?.upperBound) else { return nil }
        func count(_ object: JSONSpans, _ key: String) -> Int64? {
            guard let member = object.member(key), let value = Double(String(decoding: bytes[member.value], as: UTF8.self)),
                  value.isFinite else { return nil }
            return value >= Double(UsageParsing.maxTokens) ? UsageParsing.maxTokens : max(0, Int64(value))
        }
        promptTokens = count(object, "prompt_tokens")
        completionTokens = count(object, "completion_tokens")
        if let details = object.member("prompt_tokens_details"), let inner = JSONSpans(bytes, from: details.value.lowerBound, to: details.value.upperBound) {
            cachedTokens = count(inner, "cached_tokens")
        }
        inputTokens = count(object, "input_tokens")
        outputTokens = count(object, "output_tokens")
        cacheReadInputTokens = count(object, "cache_read_input_tokens")
        cacheCreationInputTokens = count(object, "cache_creation_input_tokens")
    }

    /// The counts as OpenAI reports them: `prompt_tokens` includes the cached ones.
    var openAI: TokenUsage {
        TokenUsage(input: promptTokens ?? 0, output: completionTokens ?? 0, cached: cachedTokens ?? 0, cacheWrite: 0)
    }

    /// The counts as Anthropic reports them: `input_tokens` excludes cache reads and writes.
    var anthropic: TokenUsage {
        let read = cacheReadInputTokens ?? 0
        let write = cacheCreationInputTokens ?? 0
        return TokenUsage(input: (inputTokens ?? 0) + read + write, output: outputTokens ?? 0, cached: read, cacheWrite: write)
    }

    func tokens(_ kind: ProviderKind) -> TokenUsage {
        kind == .anthropic ? anthropic : openAI
    }
}

/// A streamed event as far as metering reads it: its `usage` (top level, or in `message` for
/// Anthropic's `message_start`), whether it carries a non-null `error`, and whether it has
/// `choices` (a non-empty array).
struct MeteredEvent {
    var usage: ProviderUsage?
    var messageUsage: ProviderUsage?
    var hasError = false
    var hasChoices = false

    /// The event whose JSON is `bytes`; nil when it is not an object.
    init?(_ bytes: [UInt8]) {
        guard let event = JSONSpans(bytes) else { return nil }
        usage = event.member("usage").flatMap { ProviderUsage(bytes, $0.value) }
        if let message = event.member("message"), let inner = JSONSpans(bytes, from: message.value.lowerBound, to: message.value.upperBound) {
            messageUsage = inner.member("usage").flatMap { ProviderUsage(bytes, $0.value) }
        }
        hasError = event.member("error").map { !bytes[$0.value].elementsEqual("null".utf8) } ?? false
        if let choices = event.member("choices"), bytes[choices.value.lowerBound] == UInt8(ascii: "[") {
            var scanner = JSONByteScanner(bytes: bytes, position: choices.value.lowerBound + 1, end: choices.value.upperBound)
            scanner.skipWhitespace()
            hasChoices = scanner.peek() != UInt8(ascii: "]")
        }
    }
}
