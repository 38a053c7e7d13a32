import Testing
@testable import FlotillaNode

@Suite("Backoff and jitter")
struct BackoffTests {
    @Test func doublesFromOneSecondUpToFiveMinutes() {
        var backoff = Backoff(jitter: 0)
        var delays: [Int64] = []
        for _ in 0..<12 { delays.append(backoff.nextDelay(random: 0)) }
        #expect(delays == [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128_000, 256_000, 300_000, 300_000, 300_000])
        backoff.reset()
        #expect(backoff.nextDelay(random: 0) == 1000)
    }

    @Test func jitteredDelaysStayWithinBoundsAndCap() {
        var backoff = Backoff()
        for attempt in 0..<40 {
            let nominal = min(Int64(1000) << Int64(min(attempt, 20)), 300_000)
            let delay = backoff.nextDelay(random: UInt64.random(in: .min ... .max))
            #expect(delay >= nominal * 9 / 10, "attempt \(attempt): \(delay)")
            #expect(delay <= min(nominal * 11 / 10, 300_000), "attempt \(attempt): \(delay)")
        }
    }

    @Test func jitterSpansBothDirections() {
        #expect(Backoff.jittered(15_000, fraction: 0.1, random: 0) == 13_500)
        #expect(Backoff.jittered(15_000, fraction: 0.1, random: .max) >= 16_499)
        #expect((14_999...15_000).contains(Backoff.jittered(15_000, fraction: 0.1, random: .max / 2)))
    }

    @Test func renewalWindowIsTheLastThirdOfTheLifetime() {
        let notBefore: Int64 = 1_000_000
        let notAfter: Int64 = notBefore + 30 * 86_400
        #expect(!Certificate.needsRenewal(notBefore: notBefore, notAfter: notAfter, now: notBefore + 19 * 86_400))
        #expect(Certificate.needsRenewal(notBefore: notBefore, notAfter: notAfter, now: notBefore + 20 * 86_400))
        #expect(Certificate.needsRenewal(notBefore: notBefore, notAfter: notAfter, now: notAfter + 1))
        #expect(Certificate.needsRenewal(notBefore: notAfter, notAfter: notBefore, now: 0))
    }
}
