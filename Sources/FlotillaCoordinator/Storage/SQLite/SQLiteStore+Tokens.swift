import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// Stores a new enrollment token.
    func insertToken(_ token: TokenRecord) async throws(CoordinatorError) {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO enrollment_tokens
                        (id, token_hash, group_name, uses, uses_left, require_approval, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, Data(token.tokenHash), token.group, token.uses, token.usesLeft, token.requireApproval,
                    token.createdAt.timeIntervalSince1970, token.expiresAt.timeIntervalSince1970,
                ]
            )
        }
    }

    /// Every token, newest first.
    func tokens() async throws(CoordinatorError) -> [TokenRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM enrollment_tokens ORDER BY created_at DESC").map(TokenRecord.init(row:))
        }
    }

    /// Marks a token revoked; later enrollments with it fail with `token_revoked`.
    func revokeToken(id: String, at now: Date) async throws(CoordinatorError) {
        try write { db in
            try db.execute(
                sql: "UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                arguments: [now.timeIntervalSince1970, id]
            )
            guard db.changesCount == 1 else { throw CoordinatorError.notFound("no enrollment token with id \(id)") }
        }
    }

    /// Finds the token whose secret hashes to `hash` and checks it can enroll at `now`.
    /// Runs inside the enrollment transaction so that checking and spending a use are atomic.
    static func usableToken(db: Database, hash: [UInt8], now: Date) throws -> TokenRecord {
        guard
            let row = try Row.fetchOne(db, sql: "SELECT * FROM enrollment_tokens WHERE token_hash = ?", arguments: [Data(hash)])
        else {
            throw CoordinatorError(.tokenInvalid, "enrollment token is not known to this coordinator")
        }
        let token = TokenRecord(row: row)
        try token.checkUsable(presentedHash: hash, now: now)
        return token
    }
}
