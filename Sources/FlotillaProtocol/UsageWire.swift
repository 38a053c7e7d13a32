/// How a gateway call ended. Raw values are stored in the usage ledger and are part of the API.
public enum UsageOutcome: String, Codable, Sendable, CaseIterable {
    /// The upstream answered 2xx and the caller got the whole answer.
    case ok
    /// The upstream answered an error, could not be reached, timed out or died mid-answer.
    case upstreamError = "upstream_error"
    /// The caller went away before the answer was complete (what was streamed is charged).
    case clientCancelled = "client_cancelled"
    /// The gateway refused the call before forwarding it (unknown model, key not set, …).
    case refused
    /// One attempt of a call to a model with several targets: this target failed before
    /// answering and the call went on to the next (same request id). Nothing is charged for it.
    case fellBack = "fell_back"
}

/// Where a usage record's token counts came from.
public enum UsageSource: String, Codable, Sendable, CaseIterable {
    /// The provider's own usage numbers.
    case reported
    /// Input reported by the provider, output estimated from what was streamed (a stream cut short).
    case partial
    /// Estimated from the bytes of the request and of what was streamed (about 4 bytes per token).
    case estimated
    /// Nothing was forwarded, nothing is charged.
    case none
}

/// How `GET /admin/v1/usage` groups calls.
public enum UsageGrouping: String, Codable, Sendable, CaseIterable {
    case node, group, model, provider
}

/// One line of a usage report: calls, tokens and cost of one node, group, model or provider.
public struct UsageRow: Codable, Sendable, Equatable {
    /// The node name, group, model name or provider.
    public var key: String
    public var calls: Int
    /// Calls refused by the gateway (counted in `calls`).
    public var refused: Int
    /// Calls that ended in an upstream error or a cancelled caller (counted in `calls`).
    public var failed: Int
    /// Attempts that failed and went on to the model's next target (`models.NAME.targets`);
    /// not counted in `calls`, charged nothing.
    public var fallbacks: Int
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cachedTokens: Int64
    public var costUSD: Double

    public init(key: String, calls: Int, refused: Int, failed: Int, fallbacks: Int = 0, inputTokens: Int64, outputTokens: Int64,
                cachedTokens: Int64, costUSD: Double) {
        self.key = key
        self.fallbacks = fallbacks
        self.calls = calls
        self.refused = refused
        self.failed = failed
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.costUSD = costUSD
    }

    enum CodingKeys: String, CodingKey {
        case key, calls, refused, failed, fallbacks
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedTokens = "cached_tokens"
        case costUSD = "cost_usd"
    }
}

/// `GET /admin/v1/usage`: calls, tokens and cost in a time range, grouped.
public struct UsageReport: Codable, Sendable, Equatable {
    public var by: UsageGrouping
    public var from: String
    public var to: String
    /// Most expensive first.
    public var rows: [UsageRow]
    public var total: UsageRow

    public init(by: UsageGrouping, from: String, to: String, rows: [UsageRow], total: UsageRow) {
        self.by = by
        self.from = from
        self.to = to
        self.rows = rows
        self.total = total
    }
}

/// A provider key in the vault, as listed (`flotilla secret list`): never its value.
public struct SecretInfo: Codable, Sendable, Equatable {
    public var provider: String
    public var setAt: String
    /// Whether the gateway configuration in force declares this provider.
    public var declared: Bool

    public init(provider: String, setAt: String, declared: Bool) {
        self.provider = provider
        self.setAt = setAt
        self.declared = declared
    }

    enum CodingKeys: String, CodingKey {
        case provider, declared
        case setAt = "set_at"
    }
}

/// `PUT /admin/v1/secrets/{provider}`.
public struct SetSecretRequest: Codable, Sendable, Equatable {
    public var value: String
    public init(value: String) { self.value = value }
}

/// `POST /v1/gateway-key` (mutual TLS): a new gateway key for the calling node. The coordinator
/// keeps only its hash; the previous key stops working.
public struct GatewayKeyResponse: Codable, Sendable, Equatable {
    public var gatewayKey: String
    public var gatewayKeyID: String

    public init(gatewayKey: String, gatewayKeyID: String) {
        self.gatewayKey = gatewayKey
        self.gatewayKeyID = gatewayKeyID
    }

    enum CodingKeys: String, CodingKey {
        case gatewayKey = "gateway_key"
        case gatewayKeyID = "gateway_key_id"
    }
}

/// The id of a node gateway key: the first 16 hex digits of the SHA-256 of its text. The node
/// agent computes the same to tell whether it holds the key the coordinator expects.
public enum GatewayKeyID {
    public static let hexDigits = 16
}
