/// Delay schedule after failures: 1 s doubling up to 5 min, each delay jittered by ±`jitter` so a
/// fleet that lost its coordinator does not reconnect in lockstep.
struct Backoff {
    var baseMilliseconds: Int64
    var capMilliseconds: Int64
    /// Fraction of the delay used as ± jitter (0.1 = ±10%).
    var jitter: Double
    /// Consecutive failures so far.
    private(set) var failures: Int = 0

    /// Creates a schedule (defaults: 1 s base, 5 min cap, ±10% jitter).
    init(baseMilliseconds: Int64 = 1000, capMilliseconds: Int64 = 300_000, jitter: Double = 0.1) {
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
        self.jitter = jitter
    }

    /// Records a failure and returns how long to wait before the next attempt, never above the cap.
    /// `random` is any 64-bit random value (injected so tests can pin the jitter).
    mutating func nextDelay(random: UInt64) -> Int64 {
        var delay = baseMilliseconds
        var step = 0
        while step < failures, delay < capMilliseconds {
            delay *= 2
            step += 1
        }
        failures += 1
        delay = min(delay, capMilliseconds)
        return min(Backoff.jittered(delay, fraction: jitter, random: random), capMilliseconds)
    }

    /// Forgets past failures after a success.
    mutating func reset() {
        failures = 0
    }

    /// `milliseconds` moved uniformly within ±`fraction` of itself.
    static func jittered(_ milliseconds: Int64, fraction: Double, random: UInt64) -> Int64 {
        let unit = Double(random >> 11) / Double(UInt64(1) << 53)
        let factor = 1.0 - fraction + 2.0 * fraction * unit
        return max(0, Int64(Double(milliseconds) * factor))
    }
}
