import FlotillaProtocol
import Yams

extension SpecReader {
    /// Keys of a `rollout:` mapping.
    static let rolloutKeys = ["canary", "batch_size", "wait", "failure_threshold"]
    /// Longest pause between waves.
    static let maxWaitSeconds = 86_400.0

    /// A `rollout:` mapping merged over `base`: each key given replaces the base's value;
    /// `batch_size` and `failure_threshold` replace both their count and percent forms.
    mutating func rollout(_ node: Node, _ path: String, over base: RolloutPolicy) -> RolloutPolicy {
        guard let entries = mapping(node, path) else { return base }
        rejectUnknownKeys(entries, path, allowed: Self.rolloutKeys)
        var policy = base
        for entry in entries {
            let keyPath = Self.join(path, entry.key)
            switch entry.key {
            case "canary":
                if let canary = integer(entry.value, keyPath) {
                    if canary < 0 || canary > Int32.max {
                        problem(entry.value, keyPath, "must be 0 or more (nodes in the first wave)")
                    } else {
                        policy.canary = Int(canary)
                    }
                }
            case "batch_size":
                if let (count, percent) = countOrPercent(entry.value, keyPath, minimum: 1) {
                    policy.batchSize = count
                    policy.batchPercent = percent
                }
            case "failure_threshold":
                if let (count, percent) = countOrPercent(entry.value, keyPath, minimum: 1) {
                    policy.failureThreshold = count
                    policy.failurePercent = percent
                }
            case "wait":
                if let seconds = duration(entry.value, keyPath) {
                    if seconds > Self.maxWaitSeconds {
                        problem(entry.value, keyPath, "at most 1d between waves")
                    } else {
                        policy.waitSeconds = seconds
                    }
                }
            default:
                break
            }
        }
        return policy
    }

    /// `N` (an integer ≥ `minimum`) or `"N%"` (0 < N ≤ 100): one of the two results is set.
    mutating func countOrPercent(_ node: Node, _ path: String, minimum: Int64) -> (Int?, Double?)? {
        guard let value = scalar(node, path) else { return nil }
        switch value {
        case .int(let count) where count >= minimum && count <= Int32.max:
            return (Int(count), nil)
        case .string(let text) where DurationText.percent(text) != nil:
            return (nil, DurationText.percent(text))
        default:
            problem(node, path, "expected an integer of at least \(minimum) or a percentage like 25% (more than 0, at most 100), found \(describe(value))")
            return nil
        }
    }

    /// A duration in seconds (`10s`, `15m`); units are required.
    mutating func duration(_ node: Node, _ path: String) -> Double? {
        guard let value = scalar(node, path) else { return nil }
        guard case .string(let text) = value, let seconds = DurationText.seconds(text) else {
            problem(node, path, "expected a duration like 500ms, 90s, 15m, 12h or 30d, found \(describe(value))")
            return nil
        }
        return seconds
    }
}
