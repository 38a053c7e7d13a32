import FlotillaProtocol
import Foundation
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// Metering answers as they stream through: usage found wherever the bytes split, the last byte
/// or terminal event held back until `finish`, the usage chunk dropped when the caller did not
/// ask for it.
@Suite struct ResponseMeterTests {
    /// Feeds `text` in pieces of `size` bytes; returns what was forwarded before and by `finish`.
    static func run(_ meter: inout ResponseMeter, _ text: String, pieces size: Int) -> (before: String, after: String) {
        let bytes = Array(text.utf8)
        var before = ""
        var index = 0
        while index < bytes.count {
            let end = min(index + size, bytes.count)
            before += String(buffer: meter.feed(ByteBuffer(bytes: bytes[index..<end])))
            index = end
        }
        return (before, String(buffer: meter.finish()))
    }

    static let openAIAnswer = #"{"id":"x","choices":[{"message":{"content":"{\"usage\":{\"prompt_tokens\":99}}"},"usage":{"prompt_tokens":77}}],"#
        + #""usage":{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4}},"system_fingerprint":null}"#

    @Test(arguments: [1, 2, 7, 64, 4096])
    func jsonUsageIsTheTopLevelOneWhateverTheSplit(size: Int) {
        var meter = ResponseMeter(kind: .openai, stream: false, callerWantsStreamUsage: false)
        let (before, after) = Self.run(&meter, Self.openAIAnswer, pieces: size)
        #expect(before + after == Self.openAIAnswer)
        // The last piece received is held back whole, so the caller cannot have the answer early.
        let count = Self.openAIAnswer.utf8.count
        #expect(after == String(Self.openAIAnswer.suffix(count % size == 0 ? min(size, count) : count % size)))
        let (usage, source) = meter.charge(estimatedInput: 1000)
        #expect(source == .reported)
        #expect(usage == TokenUsage(input: 12, output: 5, cached: 4))
    }

    @Test func anthropicJSONUsageCountsCacheReadsAndWritesAsInput() {
        var meter = ResponseMeter(kind: .anthropic, stream: false, callerWantsStreamUsage: false)
        _ = Self.run(&meter, #"{"type":"message","usage":{"input_tokens":3,"cache_read_input_tokens":20,"cache_creation_input_tokens":5,"output_tokens":9}}"#, pieces: 5)
        #expect(meter.charge(estimatedInput: 0).0 == TokenUsage(input: 28, output: 9, cached: 20, cacheWrite: 5))
    }

    static func openAIStream(usage: Bool) -> String {
        var text = #"data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":null}"# + "\n\n"
        text += #"data: {"choices":[{"delta":{"content":"Hello world"}}],"usage":null}"# + "\n\n"
        text += #"data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":null}"# + "\n\n"
        if usage { text += #"data: {"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":2}}"# + "\n\n" }
        return text + "data: [DONE]\n\n"
    }

    @Test(arguments: [1, 3, 50, 10_000])
    func openAIStreamDropsTheUsageChunkTheCallerDidNotAskFor(size: Int) {
        var meter = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        let (before, after) = Self.run(&meter, Self.openAIStream(usage: true), pieces: size)
        #expect(before == Self.openAIStream(usage: false).replacingOccurrences(of: "data: [DONE]\n\n", with: ""))
        #expect(after == "data: [DONE]\n\n")
        #expect(meter.sawTerminal)
        #expect(meter.charge(estimatedInput: 0) == (TokenUsage(input: 8, output: 2), .reported))
    }

    @Test func openAIStreamKeepsTheUsageChunkTheCallerAskedFor() {
        var meter = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: true)
        let (before, after) = Self.run(&meter, Self.openAIStream(usage: true), pieces: 9)
        #expect(before + after == Self.openAIStream(usage: true))
    }

    @Test func aStreamCutShortIsEstimatedFromItsText() {
        var meter = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        let text = Self.openAIStream(usage: true)
        _ = meter.feed(ByteBuffer(string: String(text.prefix(text.count / 2))))
        #expect(!meter.sawTerminal)
        // "Hello world" is 11 bytes: 3 tokens at ~4 bytes each.
        #expect(meter.charge(estimatedInput: 40) == (TokenUsage(input: 40, output: 3), .estimated))
    }

    @Test func crlfEventsAndErrorChunksAreUnderstood() {
        var meter = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        let text = "data: {\"choices\":[{\"delta\":{\"content\":\"ab\"}}]}\r\n\r\ndata: {\"error\":{\"message\":\"overloaded\"}}\r\n\r\n"
        let (before, _) = Self.run(&meter, text, pieces: 4)
        #expect(before == text)
        #expect(meter.sawErrorEvent)
        #expect(!meter.sawTerminal)
    }

    static let anthropicStream = [
        ("message_start", #"{"type":"message_start","message":{"usage":{"input_tokens":11,"cache_read_input_tokens":4,"output_tokens":1}}}"#),
        ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ("ping", #"{"type":"ping"}"#),
        ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi there"}}"#),
        ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":6}}"#),
        ("message_stop", #"{"type":"message_stop"}"#),
    ].map { "event: \($0.0)\ndata: \($0.1)\n\n" }

    @Test(arguments: [1, 16, 100_000])
    func anthropicStreamUsageComesFromStartAndDelta(size: Int) {
        var meter = ResponseMeter(kind: .anthropic, stream: true, callerWantsStreamUsage: false)
        let (before, after) = Self.run(&meter, Self.anthropicStream.joined(), pieces: size)
        #expect(before == Self.anthropicStream.dropLast().joined())
        #expect(after == Self.anthropicStream.last)
        #expect(meter.charge(estimatedInput: 0) == (TokenUsage(input: 15, output: 6, cached: 4), .reported))
    }

    @Test func anthropicStreamCutBeforeTheDeltaKeepsTheReportedInput() {
        var meter = ResponseMeter(kind: .anthropic, stream: true, callerWantsStreamUsage: false)
        _ = meter.feed(ByteBuffer(string: Self.anthropicStream.prefix(4).joined()))
        // "Hi there" is 8 bytes: 2 tokens.
        #expect(meter.charge(estimatedInput: 99) == (TokenUsage(input: 15, output: 2, cached: 4), .partial))
    }

    @Test func costIsExactAndRoundsUp() {
        let price = ModelPrice(inputMicros: 150_000, outputMicros: 600_000, cachedInputMicros: 75_000, cacheWriteMicros: 187_500)
        // 1000 in (200 cached, 100 written), 500 out: 700×0.15 + 200×0.075 + 100×0.1875 + 500×0.6 USD/M.
        #expect(TokenUsage(input: 1000, output: 500, cached: 200, cacheWrite: 100).costNanos(at: price) == 438_750)
        #expect(TokenUsage(input: 1, output: 0).costNanos(at: ModelPrice(inputMicros: 1, outputMicros: 0)) == 1)
        #expect(TokenUsage().costNanos(at: price) == 0)
    }

    @Test func aStreamThatIsNotSSEPassesThroughUnparsedPastTheEventLimit() {
        var meter = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        let chunk = String(repeating: "x", count: 64 * 1024)
        var forwarded = 0
        for _ in 0..<20 { forwarded += meter.feed(ByteBuffer(string: chunk)).readableBytes }
        #expect(meter.overflowed)
        forwarded += meter.finish().readableBytes
        #expect(forwarded == 20 * 64 * 1024)
        #expect(meter.charge(estimatedInput: 7) == (TokenUsage(input: 7, output: Int64(20 * 64 * 1024 / 4)), .estimated))
        #expect(ResponseRelay.endedProperly(meter, kind: .openai))
    }

    @Test func streamsEndProperlyOnlyWithTheirTerminalEvent() {
        var anthropic = ResponseMeter(kind: .anthropic, stream: true, callerWantsStreamUsage: false)
        _ = anthropic.feed(ByteBuffer(string: Self.anthropicStream.dropLast().joined()))
        #expect(!ResponseRelay.endedProperly(anthropic, kind: .anthropic))
        var openAI = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        _ = openAI.feed(ByteBuffer(string: Self.openAIStream(usage: true).replacingOccurrences(of: "data: [DONE]\n\n", with: "")))
        #expect(ResponseRelay.endedProperly(openAI, kind: .openai))
        var cut = ResponseMeter(kind: .openai, stream: true, callerWantsStreamUsage: false)
        _ = cut.feed(ByteBuffer(string: Self.openAIStream(usage: false).replacingOccurrences(of: "data: [DONE]\n\n", with: "")))
        #expect(!ResponseRelay.endedProperly(cut, kind: .openai))
    }

    @Test func bogusProviderCountsAreClampedAndCostsSaturate() {
        var meter = ResponseMeter(kind: .openai, stream: false, callerWantsStreamUsage: false)
        _ = meter.feed(ByteBuffer(string: #"{"usage":{"prompt_tokens":1e30,"completion_tokens":-5}}"#))
        _ = meter.finish()
        let (usage, _) = meter.charge(estimatedInput: 0)
        #expect(usage == TokenUsage(input: UsageParsing.maxTokens, output: 0))
        let expensive = ModelPrice(inputMicros: 10_000 * 1_000_000, outputMicros: 10_000 * 1_000_000)
        #expect(TokenUsage(input: UsageParsing.maxTokens, output: UsageParsing.maxTokens).costNanos(at: expensive) == TokenUsage.maxCostNanos)
    }

    @Test func aCountThatIsNotANumberIsSkippedAndTheRestOfTheUsageStillCounts() {
        var meter = ResponseMeter(kind: .openai, stream: false, callerWantsStreamUsage: false)
        _ = meter.feed(ByteBuffer(string: #"{"usage":{"prompt_tokens":"12","completion_tokens":5.9,"prompt_tokens_details":[3]}}"#))
        _ = meter.finish()
        #expect(meter.charge(estimatedInput: 40) == (TokenUsage(input: 0, output: 5), .reported))

        // An Anthropic `message_delta` with a null input count keeps the `message_start` one.
        var stream = ResponseMeter(kind: .anthropic, stream: true, callerWantsStreamUsage: false)
        _ = stream.feed(ByteBuffer(string: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":null,\"output_tokens\":4}}\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
        _ = stream.finish()
        #expect(stream.charge(estimatedInput: 40) == (TokenUsage(input: 7, output: 4), .reported))
    }
}
