/// A stable, machine-readable error code carried in every API error body.
///
/// Clients branch on these codes, so a case's raw value never changes once released.
public enum APIErrorCode: String, Sendable, Codable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidRequest = "invalid_request"
    case bodyTooLarge = "body_too_large"
    case unauthorized
    case tokenInvalid = "token_invalid"
    case tokenExpired = "token_expired"
    case tokenExhausted = "token_exhausted"
    case tokenRevoked = "token_revoked"
    case clientCertificateRequired = "client_certificate_required"
    /// The client certificate was replaced by a renewal the node has since used.
    case certificateRetired = "certificate_retired"
    case nodeUnknown = "node_unknown"
    case nodeRevoked = "node_revoked"
    case nodePending = "node_pending"
    case nameTaken = "name_taken"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case rateLimited = "rate_limited"
    case conflict
    case rootKeyOffline = "root_key_offline"
    /// The operation needs proof of access to the coordinator's data directory (its
    /// `local.key`, which the CLI sends when run with `--data-dir` on that machine): an admin
    /// token alone cannot export or replace the root key.
    case localAccessRequired = "local_access_required"
    case invalidSpec = "invalid_spec"
    /// Gateway: no node has this gateway key (or it was rotated away).
    case invalidAPIKey = "invalid_api_key"
    /// Gateway: no provider declares this model name.
    case modelNotFound = "model_not_found"
    /// Gateway: the model is not in the node's group's `models:` list.
    case modelNotAllowed = "model_not_allowed"
    /// Gateway: `prices.yaml` has no price for the model's upstream id and no default.
    case modelNotPriced = "model_not_priced"
    /// Gateway: the model's provider speaks the other API (OpenAI vs Anthropic endpoints).
    case modelWrongAPI = "model_wrong_api"
    /// Gateway: a field of the request has no counterpart in the API of the model's provider
    /// (the call would have been translated); the message names the field.
    case fieldNotTranslatable = "field_not_translatable"
    /// Gateway: the model's provider has no key in the vault (`flotilla secret set`).
    case providerKeyMissing = "provider_key_missing"
    /// No provider of that name is declared in the gateway configuration.
    case unknownProvider = "unknown_provider"
    /// Gateway: the provider could not be reached (connection refused, DNS, TLS).
    case upstreamUnreachable = "upstream_unreachable"
    /// Gateway: the provider did not answer within the first-byte or idle timeout.
    case upstreamTimeout = "upstream_timeout"
    /// Gateway: the provider refused the coordinator's provider key.
    case upstreamAuthFailed = "upstream_auth_failed"
    /// Gateway: the provider answered something the gateway does not pass on (a redirect, a
    /// broken stream).
    case upstreamError = "upstream_error"
    /// Gateway: the call could cost more than a budget has left this period (HTTP 429 with
    /// `Retry-After` until the period resets).
    case budgetExceeded = "budget_exceeded"
    /// Dashboard: a form without this session's CSRF token (a forged or stale page).
    case csrfInvalid = "csrf_invalid"
    case `internal`

    /// The HTTP status that accompanies this code.
    public var httpStatus: Int {
        switch self {
        case .invalidJSON, .invalidRequest, .invalidSpec: 400
        case .unauthorized, .tokenInvalid, .tokenExpired, .tokenExhausted, .tokenRevoked,
            .clientCertificateRequired, .certificateRetired, .nodeUnknown:
            401
        case .nodeRevoked, .nodePending, .localAccessRequired, .csrfInvalid: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .nameTaken, .conflict, .rootKeyOffline: 409
        case .bodyTooLarge: 413
        case .rateLimited, .budgetExceeded: 429
        case .modelWrongAPI, .fieldNotTranslatable: 400
        case .invalidAPIKey: 401
        case .modelNotAllowed, .modelNotPriced: 403
        case .modelNotFound, .unknownProvider: 404
        case .upstreamUnreachable, .upstreamAuthFailed, .upstreamError: 502
        case .providerKeyMissing: 503
        case .upstreamTimeout: 504
        case .internal: 500
        }
    }
}
