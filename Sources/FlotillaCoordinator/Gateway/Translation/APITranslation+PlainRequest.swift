/// The common Messages request (text messages, a text `system`, the sampling numbers, `stream`)
/// rewritten as a Chat Completions request straight from its bytes, as `plainMessage` does for
/// answers: strings are copied as the caller escaped them once checked, numbers as written. It
/// writes what `chatCompletions(fromMessages:)` writes for the same request (keys sorted); any
/// other member or shape returns nil and takes the general path, which also refuses what cannot
/// be translated.
extension APITranslation {
    /// Members the byte-level path takes; any other sends the request down the general path.
    static let plainRequestKeys: Set<String> = ["model", "max_tokens", "messages", "system", "temperature", "top_p", "stream"]

    static func plainChatCompletions(fromMessages body: [UInt8], upstreamModel: String, outputCap: Int64?) -> [UInt8]? {
        guard let request = JSONSpans(body), request.members.allSatisfy({ plainRequestKeys.contains($0.key) }),
              let messages = request.member("messages"), body[messages.value.lowerBound] == UInt8(ascii: "[")
        else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 128)
        var cap: Int64?
        if request.member("max_tokens") != nil {
            guard let value = request.integer("max_tokens", in: body) else { return nil }
            cap = value
        }
        if let outputCap { cap = min(cap ?? outputCap, outputCap) }
        var separator = UInt8(ascii: "{")
        if let cap {
            out.append(contentsOf: #"{"max_completion_tokens":"#.utf8)
            out.append(contentsOf: String(cap).utf8)
            separator = UInt8(ascii: ",")
        }
        out.append(separator)
        out.append(contentsOf: #""messages":["#.utf8)
        if let system = request.member("system") {
            guard body[system.value.lowerBound] == UInt8(ascii: "\""), isWellFormedString(body[system.value]) else { return nil }
            out.append(contentsOf: #"{"content":"#.utf8)
            out.append(contentsOf: body[system.value])
            out.append(contentsOf: #","role":"system"}"#.utf8)
        }
        guard appendPlainMessages(body, messages.value, first: request.member("system") == nil, to: &out) else { return nil }
        out.append(contentsOf: #"],"model":"#.utf8)
        JSONObjectWriter.writeString(upstreamModel, into: &out)
        if request.member("stream") != nil {
            guard let stream = request.bool("stream", in: body) else { return nil }
            if stream { out.append(contentsOf: #","stream":true,"stream_options":{"include_usage":true}"#.utf8) }
        }
        for field in ["temperature", "top_p"] {
            guard let member = request.member(field) else { continue }
            // A number (JSONSpans checked its grammar) that is finite: `1e400` goes the general way.
            guard JSONByteScanner.isNumber(body[member.value]),
                  Double(String(decoding: body[member.value], as: UTF8.self))?.isFinite == true else { return nil }
            out.append(contentsOf: ",\"\(field)\":".utf8)
            out.append(contentsOf: body[member.value])
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Each `{"role": "user"|"assistant", "content": "text"}` of the array at `range` as its Chat
    /// Completions message; false for any other element.
    private static func appendPlainMessages(_ body: [UInt8], _ range: Range<Int>, first: Bool, to out: inout [UInt8]) -> Bool {
        var scanner = JSONByteScanner(bytes: body, position: range.lowerBound + 1, end: range.upperBound)
        var first = first
        while true {
            scanner.skipWhitespace()
            guard let next = scanner.peek() else { return false }
            if next == UInt8(ascii: "]") { return true }
            if next == UInt8(ascii: ",") {
                scanner.position += 1
                continue
            }
            let start = scanner.position
            guard scanner.skipValue(depth: 1), let message = JSONSpans(body, from: start, to: scanner.position),
                  message.members.allSatisfy({ $0.key == "role" || $0.key == "content" }),
                  let role = message.string("role", in: body), role == "user" || role == "assistant",
                  let content = message.member("content"), body[content.value.lowerBound] == UInt8(ascii: "\""),
                  isWellFormedString(body[content.value])
            else { return false }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: #"{"content":"#.utf8)
            out.append(contentsOf: body[content.value])
            out.append(contentsOf: #","role":"#.utf8)
            JSONObjectWriter.writeString(role, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }
}
