import FlotillaProtocol
import Foundation
import GRDB

extension NodeRecord {
    /// A row of `nodes`.
    init(row: Row) {
        id = row["id"]
        name = row["name"]
        group = row["group_name"]
        adminState = NodeAdminState(rawValue: row["admin_state"]) ?? .revoked
        enrolledAt = Date(timeIntervalSince1970: row["enrolled_at"])
        certificateExpiresAt = Date(timeIntervalSince1970: row["certificate_expires_at"])
        certificateSerial = row["certificate_serial"]
        pendingCertificateSerial = row["pending_certificate_serial"]
    }
}

extension TokenRecord {
    /// A row of `enrollment_tokens`.
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
}
