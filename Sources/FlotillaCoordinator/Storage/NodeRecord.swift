import FlotillaProtocol
import Foundation

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

    init(id: String, name: String, group: String, adminState: NodeAdminState, enrolledAt: Date, certificateExpiresAt: Date,
         certificateSerial: String? = nil, pendingCertificateSerial: String? = nil) {
        self.certificateSerial = certificateSerial
        self.pendingCertificateSerial = pendingCertificateSerial
        self.id = id
        self.name = name
        self.group = group
        self.adminState = adminState
        self.enrolledAt = enrolledAt
        self.certificateExpiresAt = certificateExpiresAt
    }
}
