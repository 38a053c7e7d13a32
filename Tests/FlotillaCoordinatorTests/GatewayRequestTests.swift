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
}
