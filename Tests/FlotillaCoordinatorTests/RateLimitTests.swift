import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import FlotillaCoordinator

/// Rate limits as token buckets with an exact `Retry-After`, on a clock the tests move.
@Suite struct RateLimitTests {
    final class Clock: Sendable {
        let seconds = Mutex(1000.0)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        var now: Double { seconds.withLock { $0 } }
    }

    static func with(limits: LimitSpec, _ body: @Sendable (GatewayTestbed, Clock) async throws -> Void) async throws {
        let clock = Clock()
        try await GatewayTestbed.with(gateway: BudgetTests.gateway(limits: limits), configure: { $0.rateClock = { clock.now } }) { bed in
            try await body(bed, clock)
        }
    }

    static func call(_ bed: GatewayTestbed, _ key: String, stream: Bool = false) async throws -> TestResponse {
        try await bed.post("/v1/chat/completions", key: key, body: BudgetTests.body(stream: stream))
    }

    static func retryMilliseconds(_ response: TestResponse) -> Int? {
        response.headers[HTTPField.Name("retry-after-ms")!].flatMap { Int($0) }
    }

    @Test func requestsPerMinuteRefuseWithTheExactWaitAndHeadersCountDown() async throws {
        try await Self.with(limits: LimitSpec(nodes: ["default": RateLimit(requestsPerMinute: 3)])) { bed, clock in
            let (_, key) = try await bed.addNode("board-01")
            for remaining in [2, 1, 0] {
                let response = try await Self.call(bed, key)
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "3")
                #expect(response.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == String(remaining))
            }
            let refused = try await Self.call(bed, key)
            #expect(refused.status == .tooManyRequests)
            #expect(try GatewayAPITests.openAIError(refused) == ("rate_limited", "rate_limit_error"))
            // One request refills every 20 s.
            #expect(Self.retryMilliseconds(refused) == 20_000)
            #expect(refused.headers[.retryAfter] == "20")
            #expect(refused.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")

            clock.advance(19.9)
            let early = try await Self.call(bed, key)
            #expect(early.status == .tooManyRequests, "a retry before Retry-After fails")
            #expect(Self.retryMilliseconds(early) == 100)
            clock.advance(0.1)
            #expect(try await Self.call(bed, key).status == .ok, "a retry at Retry-After passes")
            await #expect(try bed.records().filter { $0.errorCode == "rate_limited" }.count == 2)
            // Answers that took nothing carry the figures too.
            let unknown = try await bed.post("/v1/chat/completions", key: key, body: #"{"model":"nope","messages":[]}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "3")
            let models = try await bed.client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer " + key])
            #expect(models.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")
        }
    }

    @Test func tokensPerMinuteChargeTheActualTokensAndWaitExactly() async throws {
        try await Self.with(limits: LimitSpec(nodes: ["default": RateLimit(tokensPerMinute: 100)])) { bed, clock in
            let (_, key) = try await bed.addNode("board-01")
            var passed = 0
            var refusal: TestResponse?
            for _ in 0..<12 {
                let response = try await Self.call(bed, key)
                if response.status == .ok {
                    passed += 1
                    #expect(response.headers[HTTPField.Name("x-ratelimit-limit-tokens")!] == "100")
                } else {
                    refusal = response
                    break
                }
            }
            // Each call is admitted on its estimate (2 input + 8 output) and charged its actual 18.
            #expect(passed == 6)
            let refused = try #require(refusal)
            let wait = try #require(Self.retryMilliseconds(refused))
            #expect(wait > 0 && wait <= 60_000)
            clock.advance(Double(wait) / 1000 - 0.2)
            #expect(try await Self.call(bed, key).status == .tooManyRequests)
            clock.advance(0.2)
            #expect(try await Self.call(bed, key).status == .ok)
        }
    }

    @Test func callsInFlightAreCappedPerNode() async throws {
        var gateway = BudgetTests.gateway(limits: LimitSpec(nodes: ["default": RateLimit(maxInFlight: 1)]))
        gateway.providers[0].models.append(ModelRoute(name: "slow", upstream: "fake-slow"))
        gateway.prices?.models["fake-slow"] = ModelPrice(inputMicros: 1, outputMicros: 1)
        try await GatewayTestbed.with(gateway: gateway) { bed in
            let (_, key) = try await bed.addNode("board-01")
            let (_, other) = try await bed.addNode("board-02")
            // 20 words at 100 ms each: the slow call holds its place for 2 s once the provider has it,
            // which is waited for rather than guessed with a sleep (CI machines are loaded).
            async let slow = bed.post("/v1/chat/completions", key: key, body: #"{"model":"slow","max_tokens":20,"stream":true,"messages":[]}"#)
            let deadline = ContinuousClock.now + .seconds(10)
            while bed.provider.received.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            try #require(!bed.provider.received.isEmpty)
            let second = try await Self.call(bed, key)
            #expect(second.status == .tooManyRequests)
            #expect(String(buffer: second.body).contains("1 calls in flight"))
            #expect(try await Self.call(bed, other).status == .ok, "the cap is per node")
            #expect(try await slow.status == .ok)
            #expect(try await Self.call(bed, key).status == .ok, "the place is free again")
        }
    }

    @Test func groupAndFleetLimitsAreSharedByTheirNodes() async throws {
        try await Self.with(limits: LimitSpec(fleet: RateLimit(requestsPerMinute: 2))) { bed, _ in
            let (_, first) = try await bed.addNode("board-01")
            let (_, second) = try await bed.addNode("board-02")
            #expect(try await Self.call(bed, first).status == .ok)
            #expect(try await Self.call(bed, second).status == .ok)
            let refused = try await Self.call(bed, first)
            #expect(refused.status == .tooManyRequests)
            #expect(String(buffer: refused.body).contains("rate limit of fleet"))
        }
    }

    @Test func repeatedFailedEnrollmentsFromOneAddressAreThrottled() async throws {
        let clock = Clock()
        try await GatewayTestbed.with(configure: {
            $0.enrollFailuresPerMinute = 5
            $0.rateClock = { clock.now }
        }) { bed in
            let body = #"{"token":"flt_wrong","name":"board-99","csr_pem":"x","agent_version":"t","arch":"x86_64"}"#
            var codes: [String?] = []
            var last: TestResponse?
            for _ in 0..<7 {
                let response = try await bed.client.execute(uri: "/v1/enroll", method: .post, headers: [.contentType: "application/json"],
                                                            body: ByteBuffer(string: body))
                codes.append((try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView)))?.error.code)
                last = response
            }
            #expect(codes == Array(repeating: "token_invalid", count: 5) + ["rate_limited", "rate_limited"])
            #expect(last?.status == .tooManyRequests)
            #expect(Int(last?.headers[.retryAfter] ?? "") ?? 0 >= 1)
            clock.advance(12)
            let refilled = try await bed.client.execute(uri: "/v1/enroll", method: .post, headers: [.contentType: "application/json"],
                                                        body: ByteBuffer(string: body))
            #expect(refilled.status == .unauthorized, "one failure allowed again after a fifth of a minute")
        }
    }
}
