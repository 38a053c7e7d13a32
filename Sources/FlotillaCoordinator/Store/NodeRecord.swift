import FlotillaProtocol
import Foundation
import GRDB

/// A node's identity and admin state as stored in `nodes`.
public struct NodeRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var group: String
    public var adminState: NodeAdminState
    public var enrolledAt: Date
    public var certificateExpiresAt: Date
    /// Hex serial of the certificate that authenticates the node (nil: enrolled before serials
    /// were kept; the first certificate it presents is adopted).
    public var certificateSerial: String?
    /// A renewed certificate not used yet; its first use retires `certificateSerial`.
    public var pendingCertificateSerial: String?

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

    init(id: String, name: String, group: String, adminState: NodeAdminState, enrolledAt: Date, certificateExpiresAt: Date,
         certificateSerial: String? = nil) {
        self.certificateSerial = certificateSerial
        self.id = id
        self.name = name
        self.group = group
        self.adminState = adminState
        self.enrolledAt = enrolledAt
        self.certificateExpiresAt = certificateExpiresAt
    }
}
