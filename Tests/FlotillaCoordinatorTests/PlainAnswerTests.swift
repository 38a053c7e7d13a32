import Foundation
import Testing

@testable import FlotillaCoordinator

/// The byte-level rewrite of a plain Chat Completions answer against the general one: the same
/// Messages answer, or nil (and the general path) for what it does not take.
@Suite struct PlainAnswerTests {
    static func general(_ answer: String) throws -> Data {
        try APITranslation.message(fromChatCompletion: Data(answer.utf8), model: "fleet-default")
    }

    static func plain(_ answer: String) -> [UInt8]? {
        APITranslation.plainMessage(fromChatCompletion: Array(answer.utf8), model: "fleet-default")
    }

    static func object(_ data: some Sequence<UInt8>) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(data)) as? NSDictionary)
    }

    static let usage = #""usage":{"prompt_tokens":21,"completion_tokens":3,"total_tokens":24,"prompt_tokens_details":{"cached_tokens":5}}"#

    @Test(arguments: [
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"pong pong","refusal":null},"logprobs":null,"finish_reason":"stop"}],\#(usage)}"#,
        #"{"id":"c2","choices":[{"message":{"role":"assistant","content":"line\none \"quoted\" \u00e9 \/ 🚀"},"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":8}}"#,
        #"{"choices":[ { "message" : { "content" : null , "tool_calls" : [ ] } , "finish_reason" : null } ] }"#,
        #"{"id":"c4","choices":[{"message":{"content":""},"finish_reason":"content_filter"}],"usage":null}"#,
    ])
    func aPlainAnswerIsWrittenAsTheGeneralPathWritesIt(_ answer: String) throws {
        let plain = try #require(Self.plain(answer))
        let general = try Self.general(answer)
        #expect(try Self.object(plain) == (try Self.object(general)))
        if !answer.contains("\\") { #expect(plain.elementsEqual(general), "\(String(decoding: plain, as: UTF8.self))") }
    }

    @Test(arguments: [
        #"{"id":"t","choices":[{"message":{"content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
        #"{"choices":[{"message":{"content":[{"type":"text","text":"parts"}]}}]}"#,
        #"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":1.5}}"#,
        #"{"choices":[{"message":{"content":"bad \q escape"}}]}"#,
        #"{"choices":[]}"#,
        #"{"choices":[{"message":{"content":"x"}}]} trailing"#,
    ])
    func anythingElseTakesTheGeneralPath(_ answer: String) {
        #expect(Self.plain(answer) == nil)
    }

    @Test func escapesAreCheckedBeforeTextIsCopied() {
        #expect(APITranslation.isWellFormedString(ArraySlice(#""a\u00E9\n\"b\\""#.utf8)))
        for bad in [#""\u00G1""#, #""\x""#, #""end\""#, #""\u12""#] {
            #expect(!APITranslation.isWellFormedString(ArraySlice(bad.utf8)), "\(bad)")
        }
        #expect(!APITranslation.isWellFormedString([0x22, 0x61, 0x09, 0x22][...]), "a raw tab")
        #expect(!APITranslation.isWellFormedString([0x22, 0xFF, 0x22][...]), "not UTF-8")
    }
}

/// The byte-level rewrite of a plain Messages request against the general one.
@Suite struct PlainRequestTests {
    @Test(arguments: [
        (#"{"model":"fleet-default","messages":[{"role":"user","content":"How warm is the board?"}],"max_tokens":8}"#, Int64?.none),
        (#"{"model":"m","max_tokens":900,"system":"Be brief \"always\"","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"content":"again \u00e9","role":"user"}],"temperature":0.2,"top_p":1,"stream":true}"#, Int64(64)),
        (#" { "model" : "m" , "messages" : [ ] , "stream" : false } "#, Int64(16)),
        (#"{"model":"m","messages":[{"role":"user","content":""}],"temperature":-0.5e0}"#, nil),
    ])
    func aPlainRequestIsWrittenAsTheGeneralPathWritesIt(_ request: String, _ cap: Int64?) throws {
        let plain = try #require(APITranslation.plainChatCompletions(fromMessages: Array(request.utf8), upstreamModel: "gpt-4o-mini", outputCap: cap))
        let general = try APITranslation.generalChatCompletions(fromMessages: Array(request.utf8), upstreamModel: "gpt-4o-mini", outputCap: cap)
        #expect(try PlainAnswerTests.object(plain) == (try PlainAnswerTests.object(general)))
        if !request.contains("\\"), !request.contains("e0") { #expect(plain.elementsEqual(general), "\(String(decoding: plain, as: UTF8.self))") }
    }

    @Test(arguments: [
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"blocks"}]}]}"#,
        #"{"model":"m","messages":[{"role":"system","content":"no"}]}"#,
        #"{"model":"m","system":[{"type":"text","text":"blocks"}],"messages":[]}"#,
        #"{"model":"m","messages":[],"top_k":5}"#,
        #"{"model":"m","messages":[],"tools":[]}"#,
        #"{"model":"m","messages":[],"temperature":"hot"}"#,
        #"{"model":"m","messages":[],"max_tokens":8.5}"#,
        #"{"model":"m","messages":[],"stream":"yes"}"#,
        #"{"model":"m","messages":[{"role":"user","content":"x","cache_control":{}}]}"#,
        #"{"model":"m","messages":{}}"#,
    ])
    func anythingElseTakesTheGeneralPath(_ request: String) {
        #expect(APITranslation.plainChatCompletions(fromMessages: Array(request.utf8), upstreamModel: "gpt-4o-mini", outputCap: nil) == nil)
    }
}

/// Numbers as RFC 8259 writes them, which the byte scanner now holds every body to.
@Suite struct JSONNumberGrammarTests {
    @Test func onlyJSONNumbersPass() {
        for good in ["0", "-0", "7", "-12", "1.5", "0.25", "1e5", "1E+5", "2.5e-07", "12345678901234567890", "1e400"] {
            #expect(JSONByteScanner.isNumber(ArraySlice(good.utf8)), "\(good)")
        }
        for bad in ["", "-", "1.", ".5", "-.5", "01", "-01", "+1", "1.e5", "1e", "1e+", "0x1", "1-2", "--1"] {
            #expect(!JSONByteScanner.isNumber(ArraySlice(bad.utf8)), "\(bad)")
        }
    }

    @Test(arguments: ["1.", "-.5", "01", "1e400"])
    func aRequestWhoseTemperatureIsNotAFiniteJSONNumberTakesTheGeneralPath(_ temperature: String) {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":\#(temperature)}"#
        #expect(APITranslation.plainChatCompletions(fromMessages: Array(body.utf8), upstreamModel: "gpt-4o-mini", outputCap: nil) == nil)
    }

    @Test func absurdUsageFiguresAreClampedNotTrapped() throws {
        let answer = #"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":1,"prompt_tokens_details":{"cached_tokens":-1}}}"#
        #expect(PlainAnswerTests.plain(answer) == nil)
        let usage = try PlainAnswerTests.object(try PlainAnswerTests.general(answer))["usage"] as? NSDictionary
        #expect(usage?["input_tokens"] as? Int == Int(Int32.max) && usage?["cache_read_input_tokens"] as? Int == 0)
    }
}
