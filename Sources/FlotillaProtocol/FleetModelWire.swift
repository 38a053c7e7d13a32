/// One provider model a fleet model may be served by: `openai/gpt-4o-mini` is the upstream id
/// `gpt-4o-mini` at the provider named `openai` in `providers:`.
public struct ModelTarget: Codable, Sendable, Equatable, Hashable {
    public var provider: String
    /// The id the provider is asked for, priced by `prices.yaml`.
    public var upstream: String

    public init(provider: String, upstream: String) {
        self.provider = provider
        self.upstream = upstream
    }

    /// `PROVIDER/UPSTREAM` split at the first `/` (an upstream id may hold more, as
    /// OpenRouter's `meta-llama/llama-3.1-8b` does); nil without a provider or an id.
    public init?(_ text: String) {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let provider = String(text[..<slash])
        let upstream = String(text[text.index(after: slash)...])
        guard !provider.isEmpty, !upstream.isEmpty else { return nil }
        self.init(provider: provider, upstream: upstream)
    }

    /// How the spec writes it.
    public var text: String { provider + "/" + upstream }
}

/// A fleet model served by several provider models in order (`models.NAME.targets`): the
/// gateway tries the next when one cannot be reached, times out, or answers 401, 403, 408, 429
/// or 5xx before anything was sent to the caller (docs/routing.md).
public struct FleetModel: Codable, Sendable, Equatable {
    /// What callers put in `model`.
    public var name: String
    /// Tried in this order; at least one.
    public var targets: [ModelTarget]
    /// How long each attempt waits for the provider's response headers before the next target
    /// is tried (`first_byte_timeout`); nil: the coordinator's `--upstream-first-byte-timeout`.
    public var firstByteTimeoutMs: Int64?

    public init(name: String, targets: [ModelTarget], firstByteTimeoutMs: Int64? = nil) {
        self.name = name
        self.targets = targets
        self.firstByteTimeoutMs = firstByteTimeoutMs
    }

    /// Bounds of `first_byte_timeout`: 100 ms to 10 minutes.
    public static let firstByteTimeoutRangeMs: ClosedRange<Int64> = 100...600_000
    /// Targets one model may list at most.
    public static let maxTargets = 8

    enum CodingKeys: String, CodingKey {
        case name, targets
        case firstByteTimeoutMs = "first_byte_timeout_ms"
    }
}
