import FlotillaProtocol
import Foundation

/// What the gateway keeps of a caller's request once it has been forwarded (the body itself is
/// let go): enough for the usage record and for estimates.
struct RequestSummary: Sendable {
    /// The caller's model name, or `(invalid)` when it is not a valid model name (so a refused
    /// call cannot put arbitrary bytes into the ledger and its roll-up keys).
    var model: String
    var stream: Bool
    var callerWantsStreamUsage: Bool
    var maxOutputTokens: Int64?
    var estimatedInputTokens: Int64
    /// No fewer tokens than the provider can bill for the input (budget reservations).
    var inputUpperBoundTokens: Int64
    /// Completions asked for (`n`): the output cap counts once for each.
    var choices: Int64 = 1
    /// False for embeddings, which bill input only.
    var producesOutput = true
}

/// One gateway call as it proceeds: who made it, what they asked for, where it went, and how to
/// turn that into its usage record.
struct GatewayCall: Sendable {
    var requestID: String
    var started: ContinuousClock.Instant
    var at: Date
    var node: AuthenticatedNode
    var endpoint: GatewayEndpoint
    var shape: GatewayAPIShape
    var request: RequestSummary?
    var route: GatewayCatalog.Route?
    /// Set when the caller's API is not the provider's: the answer is rewritten on its way back.
    var translation: TranslatingStream.Direction?
    /// What the call holds once admitted (rate-limit ticket, budget reservation).
    var admission: Admission?

    /// The usage record of the call ending now with `status` and `outcome`, under the fleet
    /// model it routed to (a coordinator copy's name is its model's), else the name asked for.
    func record(status: Int, outcome: UsageOutcome, usage: TokenUsage = TokenUsage(), source: UsageSource = .none,
                ttfb: Duration? = nil, errorCode: String? = nil) -> UsageRecord {
        let cost = route?.price.map { usage.costNanos(at: $0) } ?? 0
        return UsageRecord(
            requestID: requestID, at: at, nodeID: node.id, group: node.group, provider: route?.provider ?? "",
            model: route?.model ?? request?.model ?? "", upstreamModel: route?.upstream ?? "", endpoint: endpoint,
            streamed: request?.stream ?? false, usage: usage, costNanos: cost, priceVersion: route?.priceVersion,
            latencyMs: Self.milliseconds(ContinuousClock.now - started), ttfbMs: ttfb.map(Self.milliseconds),
            status: status, outcome: outcome, source: source, errorCode: errorCode
        )
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
