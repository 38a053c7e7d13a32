import FlotillaProtocol
import Foundation
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// Reading and splicing callers' bodies: everything but the model (and the usage request of an
/// OpenAI stream) goes upstream byte for byte.
@Suite struct GatewayRequestTests {
    static func forward(_ body: String, _ endpoint: GatewayEndpoint = .chatCompletions, upstream: String = "gpt-4o-mini") throws -> String {
        String(buffer: try GatewayRequest(endpoint: endpoint, body: Array(body.utf8)).forwardBody(upstreamModel: upstream))
    }

    @Test func onlyTheModelChangesInAPlainCall() throws {
        let body = #"{ "z": 1e3, "model" : "fleet-default","messages":[{"role":"user","content":"h\"i \u00e9"}], "tools": null, "n":1.50 }"#
        #expect(try Self.forward(body) == body.replacingOccurrences(of: #""fleet-default""#, with: #""gpt-4o-mini""#))
        let request = try GatewayRequest(endpoint: .chatCompletions, body: Array(body.utf8))
        #expect(request.model == "fleet-default")
        #expect(!request.stream)
        #expect(request.maxOutputTokens == nil)
    }

    @Test func upstreamIdsAreEscapedAndEscapedModelsDecoded() throws {
        let request = try GatewayRequest(endpoint: .messages, body: Array(#"{"model":"a\/b\u0041","max_tokens":7}"#.utf8))
        #expect(request.model == "a/bA")
        #expect(request.maxOutputTokens == 7)
        #expect(try Self.forward(#"{"model":"x"}"#, upstream: "q\"uote") == #"{"model":"q\"uote"}"#)
    }

    @Test(arguments: [
        (#"{"model":"m","stream":true}"#, #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#),
        (#"{"model":"m","stream":true,"stream_options":{}}"#, #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#),
        (#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}"#,
         #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}"#),
        (#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#,
         #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#),
        (#"{"model":"m","stream":true,"stream_options":null}"#, #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#),
        (#"{"stream":true,"model":"m"}"#, #"{"stream":true,"model":"gpt-4o-mini","stream_options":{"include_usage":true}}"#),
    ])
    func openAIStreamsAlwaysAskForUsage(body: String, expected: String) throws {
        #expect(try Self.forward(body) == expected)
        #expect(try !GatewayRequest(endpoint: .chatCompletions, body: Array(body.utf8)).callerWantsStreamUsage)
    }

    @Test func aCallerWhoAskedForUsageIsLeftAlone() throws {
        let body = #"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#
        #expect(try GatewayRequest(endpoint: .chatCompletions, body: Array(body.utf8)).callerWantsStreamUsage)
        #expect(try Self.forward(body) == #"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"#)
    }

    @Test func anthropicStreamsAndEmbeddingsKeepTheirBodies() throws {
        #expect(try Self.forward(#"{"model":"m","stream":true}"#, .messages) == #"{"model":"gpt-4o-mini","stream":true}"#)
        let embedding = try GatewayRequest(endpoint: .embeddings, body: Array(#"{"model":"m","stream":true,"input":"x"}"#.utf8))
        #expect(!embedding.stream)
    }

    @Test(arguments: ["", "[]", "\"x\"", "{", #"{"model":1}"#, #"{"model":""}"#, #"{"model":"m",}"#, #"{"model":"m"} x"#,
                      #"{"model":"m","a":nan}"#, #"{"model":"m","a":tru}"#, String(repeating: "[", count: 600)])
    func bodiesThatAreNotAnObjectWithAModelAreRefused(body: String) {
        let error = #expect(throws: CoordinatorError.self) { try GatewayRequest(endpoint: .chatCompletions, body: Array(body.utf8)) }
        #expect(error?.code == .invalidRequest)
    }

    @Test func maxTokensPreferTheNewerName() throws {
        let request = try GatewayRequest(endpoint: .chatCompletions, body: Array(#"{"model":"m","max_tokens":5,"max_completion_tokens":9}"#.utf8))
        #expect(request.maxOutputTokens == 9)
    }

    @Test func inputIsEstimatedFromThePromptStrings() throws {
        let text = String(repeating: "a", count: 400)
        let request = try GatewayRequest(endpoint: .chatCompletions,
                                         body: Array(#"{"model":"m","messages":[{"role":"user","content":"\#(text)"}],"temperature":0.5}"#.utf8))
        // 400 + 4 ("user") bytes of strings in `messages`.
        #expect(request.estimatedInputTokens == 101)
    }

    @Test(arguments: [#"{"model":"a","model":"b"}"#, #"{"model":"a","stream":false,"stream":true}"#,
                      #"{"model":"a","stream_options":{},"stream_options":null}"#])
    func keysTheProviderMightReadDifferentlyMustNotRepeat(body: String) {
        let error = #expect(throws: CoordinatorError.self) { try GatewayRequest(endpoint: .chatCompletions, body: Array(body.utf8)) }
        #expect(error?.code == .invalidRequest)
    }

    @Test func summariesKeepOnlyValidModelNames() throws {
        #expect(try GatewayRequest(endpoint: .chatCompletions, body: Array(#"{"model":"gpt-4o-mini"}"#.utf8)).summary.model == "gpt-4o-mini")
        // A JSON escape for ESC (a terminal colour code) and a name far over the length limit.
        let hostile = #"\u001b[31m"# + String(repeating: "x", count: 500)
        #expect(try GatewayRequest(endpoint: .chatCompletions, body: Array(#"{"model":"\#(hostile)"}"#.utf8)).summary.model == "(invalid)")
    }

    @Test func providerKeysAreScrubbedFromAnyBytes() {
        let key = "sk-abc/def"
        var body = Data([0xFF, 0xFE]) + Data("key \(key) and \(key.replacingOccurrences(of: "/", with: "\\/"))".utf8)
        body.append(0xC3)
        let scrubbed = GatewayAPI.scrub(body, secret: key)
        #expect(scrubbed.range(of: Data("sk-abc".utf8)) == nil)
        #expect(scrubbed.prefix(2) == Data([0xFF, 0xFE]))
        #expect(scrubbed.range(of: Data("[redacted] and [redacted]".utf8)) != nil)
    }

    @Test func theReservedOutputCapIsEnforcedInTheForwardedBody() throws {
        func forward(_ body: String, _ endpoint: GatewayEndpoint = .chatCompletions) throws -> String {
            String(buffer: try GatewayRequest(endpoint: endpoint, body: Array(body.utf8)).forwardBody(upstreamModel: "u", outputCap: 100))
        }
        #expect(try forward(#"{"model":"m","max_tokens":5000}"#) == #"{"model":"u","max_tokens":100}"#)
        #expect(try forward(#"{"model":"m","max_completion_tokens":50}"#) == #"{"model":"u","max_completion_tokens":50}"#)
        #expect(try forward(#"{"model":"m","messages":[]}"#) == #"{"model":"u","messages":[],"max_completion_tokens":100}"#)
        #expect(try forward(#"{"model":"m","messages":[]}"#, .messages) == #"{"model":"u","messages":[],"max_tokens":100}"#)
        #expect(try forward(#"{"model":"m","input":"x"}"#, .embeddings) == #"{"model":"u","input":"x"}"#)
        #expect(try forward(#"{"model":"m","max_tokens":null}"#) == #"{"model":"u","max_tokens":100}"#)
    }

    @Test func worstCasesCountEveryCompletionReferencesAndTheDearestInputRate() throws {
        let price = ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000, cacheWriteMicros: 2_000_000, maxOutputTokens: 100)
        let one = try GatewayRequest(endpoint: .chatCompletions, body: Array(#"{"model":"m","max_tokens":10,"messages":[]}"#.utf8)).summary
        let ten = try GatewayRequest(endpoint: .chatCompletions, body: Array(#"{"model":"m","max_tokens":10,"n":10,"messages":[]}"#.utf8)).summary
        #expect(BudgetPolicy.worstCaseNanos(ten, price: price) - BudgetPolicy.worstCaseNanos(one, price: price) == 90 * 1000)
        // Input at the cache-write rate (2 USD/M = 2000 nano-USD per token).
        #expect(BudgetPolicy.worstCaseNanos(one, price: price) == (one.inputUpperBoundTokens * 2000) + 10 * 1000)
        let linked = try GatewayRequest(endpoint: .chatCompletions, body: Array(
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}"#.utf8)).summary
        #expect(linked.inputUpperBoundTokens >= Int64(GatewayRequest.tokensPerBlob))
        let embedding = try GatewayRequest(endpoint: .embeddings, body: Array(#"{"model":"m","input":"x"}"#.utf8)).summary
        #expect(BudgetPolicy.outputCap(embedding, price: price) == 0)
    }
}
