import Foundation

/// The common non-streamed Chat Completions answer (its first choice with text or null
/// content, no tool calls) rewritten as a Messages answer straight from its bytes: the text's
/// JSON string is copied as the provider escaped it, the rest is a handful of members found by
/// `JSONSpans`. It writes what `message(fromChatCompletion:)` writes for the same answer (the
/// same members, keys sorted), without building the whole document as Foundation objects,
/// which made translated calls markedly dearer than others (`flotilla bench gateway
/// --translate`). Anything else returns nil and takes the general path.
extension APITranslation {
    static func plainMessage(fromChatCompletion body: [UInt8], model: String) -> [UInt8]? {
        guard let answer = JSONSpans(body), let choices = answer.member("choices"), body[choices.value.lowerBound] == UInt8(ascii: "["),
              let choice = JSONSpans(body, from: choices.value.lowerBound + 1, to: choices.value.upperBound, wholeDocument: false),
              let messageMember = choice.member("message"),
              let message = JSONSpans(body, from: messageMember.value.lowerBound, to: messageMember.value.upperBound)
        else { return nil }
        if let calls = message.member("tool_calls"), !isEmptyOrNull(body[calls.value]) { return nil }
        // The text as the provider wrote it (quotes included), when it is a well-formed string.
        var text: ArraySlice<UInt8>?
        if let content = message.member("content"), !body[content.value].elementsEqual("null".utf8) {
            guard body[content.value.lowerBound] == UInt8(ascii: "\""), isWellFormedString(body[content.value]) else { return nil }
            if content.value.count > 2 { text = body[content.value] }
        }
        var finish: String?
        if let reason = choice.member("finish_reason"), !body[reason.value].elementsEqual("null".utf8) {
            guard let decoded = choice.string("finish_reason", in: body) else { return nil }
            finish = decoded
        }
        var prompt: Int64 = 0, cached: Int64 = 0, completion: Int64 = 0
        if let usageMember = answer.member("usage"), !body[usageMember.value].elementsEqual("null".utf8) {
            guard let usage = JSONSpans(body, from: usageMember.value.lowerBound, to: usageMember.value.upperBound),
                  let figures = counts(usage, ["prompt_tokens", "completion_tokens"], in: body) else { return nil }
            (prompt, completion) = (figures[0], figures[1])
            if let details = usage.member("prompt_tokens_details"), !body[details.value].elementsEqual("null".utf8) {
                guard let spans = JSONSpans(body, from: details.value.lowerBound, to: details.value.upperBound),
                      let detail = counts(spans, ["cached_tokens"], in: body) else { return nil }
                cached = detail[0]
            }
        }
        var id = "translated"
        if answer.member("id") != nil {
            guard let decoded = answer.string("id", in: body) else { return nil }
            id = decoded
        }

        var out: [UInt8] = []
        out.reserveCapacity(body.count + 256)
        out.append(contentsOf: #"{"content":["#.utf8)
        if let text {
            out.append(contentsOf: #"{"text":"#.utf8)
            out.append(contentsOf: text)
            out.append(contentsOf: #","type":"text"}"#.utf8)
        }
        out.append(contentsOf: #"],"id":"#.utf8)
        JSONObjectWriter.writeString("msg_" + id, into: &out)
        out.append(contentsOf: #","model":"#.utf8)
        JSONObjectWriter.writeString(model, into: &out)
        out.append(contentsOf: #","role":"assistant","stop_reason":"#.utf8)
        JSONObjectWriter.writeString(stopReason(fromFinish: finish), into: &out)
        out.append(contentsOf: #","stop_sequence":null,"type":"message","usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":"#.utf8)
        out.append(contentsOf: String(cached).utf8)
        out.append(contentsOf: #","input_tokens":"#.utf8)
        out.append(contentsOf: String(max(0, prompt - cached)).utf8)
        out.append(contentsOf: #","output_tokens":"#.utf8)
        out.append(contentsOf: String(completion).utf8)
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// The whole-number members `keys` of `object` (0 when absent); nil when one is another value
    /// or outside 0...Int32.max (the general path clamps those, `tokenCount`).
    private static func counts(_ object: JSONSpans, _ keys: [String], in body: [UInt8]) -> [Int64]? {
        var values: [Int64] = []
        for key in keys {
            guard object.member(key) != nil else { values.append(0); continue }
            guard let value = object.integer(key, in: body), (0...Int64(Int32.max)).contains(value) else { return nil }
            values.append(value)
        }
        return values
    }

    private static func isEmptyOrNull(_ value: ArraySlice<UInt8>) -> Bool {
        if value.elementsEqual("null".utf8) { return true }
        let inner = value.dropFirst().dropLast().filter { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return value.first == UInt8(ascii: "[") && inner.isEmpty
    }

    /// A JSON string literal (quotes included) whose escapes are RFC 8259 §7's and whose bytes
    /// are UTF-8, so it can go to the caller as it is.
    static func isWellFormedString(_ literal: ArraySlice<UInt8>) -> Bool {
        guard literal.count >= 2, String(validating: literal, as: UTF8.self) != nil else { return false }
        var index = literal.startIndex + 1
        let end = literal.endIndex - 1
        while index < end {
            let byte = literal[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") { return false }
            guard byte == UInt8(ascii: "\\") else { index += 1; continue }
            guard index + 1 < end else { return false }
            let escaped = literal[index + 1]
            if Array(#""\/bfnrt"#.utf8).contains(escaped) {
                index += 2
            } else if escaped == UInt8(ascii: "u"), index + 6 <= end,
                      literal[(index + 2)..<(index + 6)].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }) {
                index += 6
            } else {
                return false
            }
        }
        return true
    }
}
