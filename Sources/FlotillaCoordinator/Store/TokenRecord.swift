import FlotillaProtocol
import Foundation
import GRDB

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

    init(row: Row) {
        id = row["id"]
        tokenHash = Array(row["token_hash"] as Data)
        group = row["group_name"]
        uses = row["uses"]
        usesLeft = row["uses_left"]
        requireApproval = row["require_approval"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        expiresAt = Date(timeIntervalSince1970: row["expires_at"])
        revokedAt = (row["revoked_at"] as Double?).map { Date(timeIntervalSince1970: $0) }
    }

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
