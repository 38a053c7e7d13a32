import FlotillaProtocol
import Foundation
import Synchronization

/// Requests and tokens per minute per scope as token buckets, and calls in flight per node.
///
/// A bucket holds at most a minute's allowance and refills continuously at the per-minute rate,
/// so there is no window boundary to burst across. A call takes one request and its token
/// estimate (input plus output cap, at most the bucket's size) from every applicable scope, or
/// nothing; when it ends, the difference to its actual tokens is given back (or owed, leaving the
/// bucket below zero). A refusal says exactly how long the scope needs to afford the call.
final class RateLimiter: Sendable {
    /// One scope's limits for a call.
    struct Scope: Sendable, Equatable {
        /// `fleet`, `group:NAME`, `node:ID`.
        var key: String
        /// `fleet`, `group demo`, `node demo-1`.
        var label: String
        var limit: RateLimit
    }

    /// What an admitted call took, to be settled when it ends.
    struct Ticket: Sendable {
        var scopes: [Scope]
        var tokens: Double
    }

    /// The `x-ratelimit-*` figures of one kind (requests or tokens) for the strictest scope.
    struct Figures: Sendable, Equatable {
        var limit: Int
        var remaining: Int
        /// Seconds until the bucket is full again.
        var reset: Double
    }

    enum Decision: Sendable {
        case admitted(Ticket, requests: Figures?, tokens: Figures?)
        /// Refused by `scope`; the call fits after `retryAfter` seconds (nil: when a call in flight ends).
        case refused(scope: Scope, reason: String, retryAfter: Double, requests: Figures?, tokens: Figures?)
    }

    private struct Bucket {
        var level: Double
        var updated: Double
    }

    /// Requests and tokens taken from a scope (or owed to it).
    struct Use: Sendable, Equatable {
        var requests: Double = 0
        var tokens: Double = 0

        var isZero: Bool { requests == 0 && tokens == 0 }
    }

    private struct State {
        var lastPrune = 0.0
        var requests: [String: Bucket] = [:]
        var tokens: [String: Bucket] = [:]
        var inFlight: [String: Int] = [:]
        /// Refusals per scope label since the last `drainRefusals`.
        var refusals: [String: Int] = [:]
        /// Whether use is counted for other coordinators (`drainLocalUse`).
        var sharing = false
        /// What calls here took since the last `drainLocalUse`, per scope key.
        var localUse: [String: Use] = [:]
        /// What calls on other coordinators took and this one's buckets have not yet paid.
        var remoteDebt: [String: Use] = [:]
    }

    private let state = Mutex(State())
    /// Seconds on a monotonic clock (injectable for tests).
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }) {
        self.now = now
    }

    /// Takes one request and `estimatedTokens` from every scope, and a place in flight from
    /// scopes with `max_in_flight`; or takes nothing and says which scope refused and for how long.
    func admit(_ scopes: [Scope], estimatedTokens: Int64) -> Decision {
        let time = now()
        return state.withLock { state in
            var refusal: (Scope, String, Double)?
            for scope in scopes {
                if let debt = state.remoteDebt.removeValue(forKey: scope.key) { Self.pay(debt, scope, &state, at: time) }
                if let rpm = scope.limit.requestsPerMinute {
                    let level = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
                    if level < 1 {
                        let wait = (1 - level) * 60 / Double(rpm)
                        if wait > refusal?.2 ?? -1 { refusal = (scope, "\(rpm) requests per minute", wait) }
                    }
                }
                if let tpm = scope.limit.tokensPerMinute {
                    let need = min(Double(estimatedTokens), Double(tpm))
                    let level = Self.level(&state.tokens, scope.key, capacity: Double(tpm), perMinute: Double(tpm), at: time)
                    if level < need {
                        let wait = (need - level) * 60 / Double(tpm)
                        if wait > refusal?.2 ?? -1 { refusal = (scope, "\(tpm) tokens per minute", wait) }
                    }
                }
                if let cap = scope.limit.maxInFlight, state.inFlight[scope.key, default: 0] >= cap, refusal == nil {
                    refusal = (scope, "\(cap) calls in flight", 1)
                }
            }
            if let (scope, reason, wait) = refusal {
                state.refusals[scope.label, default: 0] += 1
                let (requests, tokens) = Self.figures(scopes, state, at: time)
                return .refused(scope: scope, reason: reason, retryAfter: wait, requests: requests, tokens: tokens)
            }
            for scope in scopes {
                if scope.limit.requestsPerMinute != nil {
                    state.requests[scope.key]!.level -= 1
                    if state.sharing { state.localUse[scope.key, default: Use()].requests += 1 }
                }
                if let tpm = scope.limit.tokensPerMinute {
                    let taken = min(Double(estimatedTokens), Double(tpm))
                    state.tokens[scope.key]!.level -= taken
                    if state.sharing { state.localUse[scope.key, default: Use()].tokens += taken }
                }
                if scope.limit.maxInFlight != nil { state.inFlight[scope.key, default: 0] += 1 }
            }
            let (requests, tokens) = Self.figures(scopes, state, at: time)
            return .admitted(Ticket(scopes: scopes, tokens: Double(estimatedTokens)), requests: requests, tokens: tokens)
        }
    }

    /// The strictest scope's figures now, without taking anything (for answers to calls refused
    /// before admission).
    func figures(_ scopes: [Scope]) -> (requests: Figures?, tokens: Figures?) {
        let time = now()
        return state.withLock { state in
            for scope in scopes {
                if let rpm = scope.limit.requestsPerMinute {
                    _ = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
                }
                if let tpm = scope.limit.tokensPerMinute {
                    _ = Self.level(&state.tokens, scope.key, capacity: Double(tpm), perMinute: Double(tpm), at: time)
                }
            }
            return Self.figures(scopes, state, at: time)
        }
    }

    /// A call ended: its place in flight is freed and its token estimate replaced by `actualTokens`.
    func finish(_ ticket: Ticket, actualTokens: Int64) {
        settle(ticket, refundRequest: false, actualTokens: Double(actualTokens))
    }

    /// A call admitted here was refused later (its budget): everything it took is given back.
    func cancel(_ ticket: Ticket) {
        settle(ticket, refundRequest: true, actualTokens: 0)
    }

    /// Seconds until `scope` has a request to spend, or nil when it has one now (for throttles
    /// that only count failures: check first, `charge` after a failure).
    func wait(_ scope: Scope) -> Double? {
        guard let rpm = scope.limit.requestsPerMinute else { return nil }
        let time = now()
        return state.withLock { state in
            let level = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
            return level >= 1 ? nil : (1 - level) * 60 / Double(rpm)
        }
    }

    /// Spends one request of `scope` whatever its level (a failure counted against a source).
    /// Buckets that are full again are forgotten once there are many, so one-off sources do not
    /// accumulate.
    func charge(_ scope: Scope) {
        guard let rpm = scope.limit.requestsPerMinute else { return }
        let time = now()
        state.withLock { state in
            _ = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
            state.requests[scope.key]!.level -= 1
            if state.requests.count > 50_000, time - state.lastPrune > 10 {
                state.lastPrune = time
                state.requests = state.requests.filter { _, bucket in bucket.level + (time - bucket.updated) * Double(rpm) / 60 < Double(rpm) }
            }
        }
    }

    /// Gives back one request of `scope` (a charge that turned out not to count).
    func refund(_ scope: Scope) {
        guard let rpm = scope.limit.requestsPerMinute else { return }
        let time = now()
        state.withLock { state in
            _ = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
            state.requests[scope.key]!.level = min(Double(rpm), state.requests[scope.key]!.level + 1)
        }
    }

    /// Refusal counts per scope since the last call (for the aggregated `rate_limited` events).
    func drainRefusals() -> [String: Int] {
        state.withLock { state in
            defer { state.refusals = [:] }
            return state.refusals
        }
    }

    private func settle(_ ticket: Ticket, refundRequest: Bool, actualTokens: Double) {
        let time = now()
        state.withLock { state in
            for scope in ticket.scopes {
                if let rpm = scope.limit.requestsPerMinute, refundRequest {
                    _ = Self.level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
                    state.requests[scope.key]!.level = min(Double(rpm), state.requests[scope.key]!.level + 1)
                    if state.sharing { state.localUse[scope.key, default: Use()].requests -= 1 }
                }
                if let tpm = scope.limit.tokensPerMinute {
                    let taken = min(ticket.tokens, Double(tpm))
                    _ = Self.level(&state.tokens, scope.key, capacity: Double(tpm), perMinute: Double(tpm), at: time)
                    state.tokens[scope.key]!.level = min(Double(tpm), state.tokens[scope.key]!.level + taken - actualTokens)
                    if state.sharing { state.localUse[scope.key, default: Use()].tokens += actualTokens - taken }
                }
                if scope.limit.maxInFlight != nil { state.inFlight[scope.key, default: 1] -= 1 }
            }
        }
    }

    /// Counts what calls here take from every scope, for `drainLocalUse` (coordinators sharing a
    /// database report it to each other).
    func enableSharing() {
        state.withLock { $0.sharing = true }
    }

    /// What calls here took per scope key since the last call (refunds count negative).
    func drainLocalUse() -> [String: Use] {
        state.withLock { state in
            defer { state.localUse = [:] }
            return state.localUse.filter { !$0.value.isZero }
        }
    }

    /// Takes what another coordinator's calls took from each scope out of this one's buckets, so
    /// a fleet or group limit holds across coordinators (to within one report interval).
    func applyRemote(_ use: [String: Use]) {
        state.withLock { state in
            for (key, taken) in use {
                if var bucket = state.requests[key] {
                    bucket.level -= taken.requests
                    state.requests[key] = bucket
                } else {
                    state.remoteDebt[key, default: Use()].requests += taken.requests
                }
                if var bucket = state.tokens[key] {
                    bucket.level -= taken.tokens
                    state.tokens[key] = bucket
                } else {
                    state.remoteDebt[key, default: Use()].tokens += taken.tokens
                }
            }
            // Debt of scopes this coordinator never serves would only grow: dropped once there is much.
            if state.remoteDebt.count > 10_000 { state.remoteDebt = [:] }
        }
    }

    /// Takes `debt` (other coordinators' use, from before this coordinator had the scope's
    /// buckets) out of the scope's buckets.
    private static func pay(_ debt: Use, _ scope: Scope, _ state: inout State, at time: Double) {
        if let rpm = scope.limit.requestsPerMinute {
            _ = level(&state.requests, scope.key, capacity: Double(rpm), perMinute: Double(rpm), at: time)
            state.requests[scope.key]!.level -= debt.requests
        }
        if let tpm = scope.limit.tokensPerMinute {
            _ = level(&state.tokens, scope.key, capacity: Double(tpm), perMinute: Double(tpm), at: time)
            state.tokens[scope.key]!.level -= debt.tokens
        }
    }

    /// `applyRemote` for a report another coordinator sent over the bus (`encodeUse`).
    func applyRemote(origin: String, report: String) {
        applyRemote(Self.decodeUse(report))
    }

    /// `key=requests/tokens;…`: scope keys hold no `;`, `=` or `/` (names are letters, digits,
    /// `.`, `_` and `-`; node ids are UUIDs). Chunks stay under `maxBytes` (a NOTIFY payload).
    static func encodeUse(_ use: [String: Use], maxBytes: Int = 7000) -> [String] {
        var chunks: [String] = []
        var current = ""
        for (key, taken) in use.sorted(by: { $0.key < $1.key }) {
            let item = "\(key)=\(Self.number(taken.requests))/\(Self.number(taken.tokens))"
            if !current.isEmpty, current.utf8.count + item.utf8.count + 1 > maxBytes {
                chunks.append(current)
                current = ""
            }
            current += current.isEmpty ? item : ";" + item
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    static func decodeUse(_ report: String) -> [String: Use] {
        var use: [String: Use] = [:]
        for item in report.split(separator: ";") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let figures = parts[1].split(separator: "/")
            guard figures.count == 2, let requests = Double(figures[0]), let tokens = Double(figures[1]),
                requests.isFinite, tokens.isFinite else { continue }
            use[String(parts[0]), default: Use()].requests += requests
            use[String(parts[0]), default: Use()].tokens += tokens
        }
        return use
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// Refills the bucket for the time passed (a new bucket starts full) and returns its level.
    private static func level(_ buckets: inout [String: Bucket], _ key: String, capacity: Double, perMinute: Double, at time: Double) -> Double {
        var bucket = buckets[key] ?? Bucket(level: capacity, updated: time)
        bucket.level = min(capacity, bucket.level + max(0, time - bucket.updated) * perMinute / 60)
        bucket.updated = time
        buckets[key] = bucket
        return bucket.level
    }

    /// The figures of the scope with the least room left, for requests and for tokens.
    private static func figures(_ scopes: [Scope], _ state: State, at time: Double) -> (Figures?, Figures?) {
        func strictest(_ buckets: [String: Bucket], _ limit: (RateLimit) -> Int?) -> Figures? {
            var best: Figures?
            for scope in scopes {
                guard let perMinute = limit(scope.limit), let bucket = buckets[scope.key] else { continue }
                let capacity = Double(perMinute)
                let level = min(capacity, bucket.level + max(0, time - bucket.updated) * capacity / 60)
                let figures = Figures(limit: perMinute, remaining: max(0, Int(level.rounded(.down))), reset: max(0, (capacity - level) * 60 / capacity))
                if best == nil || Double(figures.remaining) / capacity < Double(best!.remaining) / Double(best!.limit) { best = figures }
            }
            return best
        }
        return (strictest(state.requests, \.requestsPerMinute), strictest(state.tokens, \.tokensPerMinute))
    }
}
