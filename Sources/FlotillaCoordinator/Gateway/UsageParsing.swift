import FlotillaProtocol
import Foundation

/// Token counts out of the providers' usage objects.
///
/// - OpenAI (`openai-python`: `src/openai/types/completion_usage.py`,
///   `src/openai/types/create_embedding_response.py`): `prompt_tokens` (cached ones included),
///   `completion_tokens`, `prompt_tokens_details.cached_tokens`.
/// - Anthropic (`anthropic-sdk-python`: `src/anthropic/types/usage.py`,
///   `message_delta_usage.py`): `input_tokens` (cache reads and writes excluded),
///   `cache_read_input_tokens`, `cache_creation_input_tokens`, `output_tokens` (cumulative in
///   `message_delta`).
enum UsageParsing {
    /// The usage object's bytes as a dictionary, or nil.
    static func object(_ bytes: some Collection<UInt8>) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// Most tokens one count may claim: a provider (or a compatible server) reporting more, or a
    /// negative count, is clamped, so a bogus number can neither overflow the cost nor credit it.
    static let maxTokens: Int64 = 1_000_000_000

    static func int(_ value: Any?) -> Int64? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.isFinite else { return nil }
        return min(max(0, double >= Double(maxTokens) ? maxTokens : number.int64Value), maxTokens)
    }

    /// OpenAI's `usage`.
    static func openAI(_ usage: [String: Any]) -> TokenUsage {
        let details = usage["prompt_tokens_details"] as? [String: Any]
        return TokenUsage(
            input: int(usage["prompt_tokens"]) ?? 0, output: int(usage["completion_tokens"]) ?? 0,
            cached: int(details?["cached_tokens"]) ?? 0, cacheWrite: 0
        )
    }

    /// Anthropic's `usage` (a message's, or `message_start`'s).
    static func anthropic(_ usage: [String: Any]) -> TokenUsage {
        let read = int(usage["cache_read_input_tokens"]) ?? 0
        let write = int(usage["cache_creation_input_tokens"]) ?? 0
        return TokenUsage(
            input: (int(usage["input_tokens"]) ?? 0) + read + write, output: int(usage["output_tokens"]) ?? 0,
            cached: read, cacheWrite: write
        )
    }

    /// The usage in a whole (non-streamed) response body of `kind`.
    static func usage(kind: ProviderKind, object usage: [String: Any]) -> TokenUsage {
        kind == .anthropic ? anthropic(usage) : openAI(usage)
    }

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
