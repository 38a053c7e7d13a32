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
    case nodeUnknown = "node_unknown"
    case nodeRevoked = "node_revoked"
    case nodePending = "node_pending"
    case nameTaken = "name_taken"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case rateLimited = "rate_limited"
    case conflict
    case rootKeyOffline = "root_key_offline"
    case invalidSpec = "invalid_spec"
    case `internal`

    /// The HTTP status that accompanies this code.
    public var httpStatus: Int {
        switch self {
        case .invalidJSON, .invalidRequest, .invalidSpec: 400
        case .unauthorized, .tokenInvalid, .tokenExpired, .tokenExhausted, .tokenRevoked,
            .clientCertificateRequired, .nodeUnknown:
            401
        case .nodeRevoked, .nodePending: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .nameTaken, .conflict, .rootKeyOffline: 409
        case .bodyTooLarge: 413
        case .rateLimited: 429
        case .internal: 500
        }
    }
}
