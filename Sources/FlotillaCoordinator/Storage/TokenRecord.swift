import FlotillaProtocol
import Foundation

/// An enrollment token as stored: only the SHA-256 of its secret is kept.
struct TokenRecord: Sendable, Equatable {
    var id: String
    var tokenHash: [UInt8]
    var group: String
    var uses: Int
    var usesLeft: Int
    var requireApproval: Bool
    var createdAt: Date
    var expiresAt: Date
    var revokedAt: Date?

    init(
        id: String, tokenHash: [UInt8], group: String, uses: Int, requireApproval: Bool, createdAt: Date,
        expiresAt: Date
    ) {
        self.id = id
        self.tokenHash = tokenHash
        self.group = group
        self.uses = uses
        self.usesLeft = uses
        self.requireApproval = requireApproval
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = nil
    }

    /// Throws the enrollment error of a token found by `presentedHash` that cannot enroll a board
    /// at `now` (the hash compared again in constant time).
    func checkUsable(presentedHash hash: [UInt8], now: Date) throws(CoordinatorError) {
        guard Secrets.constantTimeEquals(tokenHash, hash) else {
            throw CoordinatorError(.tokenInvalid, "enrollment token is not known to this coordinator")
        }
        switch state(at: now) {
        case .usable: return
        case .revoked: throw CoordinatorError(.tokenRevoked, "enrollment token \(id) was revoked")
        case .expired:
            throw CoordinatorError(.tokenExpired, "enrollment token \(id) expired at \(Timestamps.rfc3339(expiresAt))")
        case .exhausted:
            throw CoordinatorError(.tokenExhausted, "enrollment token \(id) has no uses left (it allowed \(uses))")
        }
    }

    /// Why the token can or cannot enroll a board at `now`, in order of precedence.
    func state(at now: Date) -> TokenInfo.State {
        if revokedAt != nil { return .revoked }
        if now >= expiresAt { return .expired }
        if usesLeft <= 0 { return .exhausted }
        return .usable
    }

    var info: TokenInfo {
        TokenInfo(
            id: id, group: group, uses: uses, usesLeft: usesLeft, createdAt: Timestamps.rfc3339(createdAt),
            expiresAt: Timestamps.rfc3339(expiresAt), requireApproval: requireApproval, state: state(at: Date())
        )
    }
}
