import FlotillaProtocol
import Foundation

/// Every read and write the coordinator makes about its fleet, in one seam: nodes and tokens,
/// heartbeats, releases and rollouts, the gateway configuration, the operator views and settings.
///
/// Two implementations sit side by side: `SQLiteStore` (the embedded default: one file in the
/// data directory) and `PostgresStore` (a database server that several coordinators share). No
/// SQL, GRDB or PostgreSQL type crosses this seam: callers see records and errors only, and every
/// failure is a `CoordinatorError` whose message names no table, path or statement.
///
/// The usage ledger, event log, audit log, dashboard sessions, node gateway keys and sealed
/// secrets have seams of their own (`UsageLedger`, `EventLog`, `AuditLog`,
/// `DashboardSessionStore`, `NodeKeyStore`, `SealedSecretStore`), gathered with this one in
/// `CoordinatorStorage`.
protocol FleetStore: NodeStore, HeartbeatStore, ReleaseStore, RolloutStore, GatewayConfigStore, FleetViewStore, SettingsStore {}

/// Small values kept by name: the vault's key check, sealed signing keys, cursors.
protocol SettingsStore: Sendable {
    /// A setting's raw bytes, or nil when it was never set.
    func setting(_ key: String) async throws(CoordinatorError) -> [UInt8]?
    /// Writes a setting, replacing any value.
    func setSetting(_ key: String, _ value: [UInt8]) async throws(CoordinatorError)
    /// Writes a setting only when none is set; returns the value in force afterwards (the one
    /// written, or the one another coordinator wrote first).
    func settingOnce(_ key: String, _ value: [UInt8]) async throws(CoordinatorError) -> [UInt8]
}

/// Nodes and enrollment tokens.
protocol NodeStore: Sendable {
    /// Enrolls a node in one transaction: checks and spends a token use, checks the name is free
    /// whatever its case, asks `issue` for the certificate, inserts the node and its gateway key
    /// hash. Nothing is stored when any step fails.
    func enroll(
        tokenHash: [UInt8], name: String, nodeID: String, now: Date, gatewayKey: NodeKeyRecord?,
        issue: (String) throws(CoordinatorError) -> IssuedCertificate
    ) async throws(CoordinatorError) -> (NodeRecord, IssuedCertificate)
    /// Every node record.
    func nodes() async throws(CoordinatorError) -> [NodeRecord]
    /// The node called `name`, if any.
    func node(named name: String) async throws(CoordinatorError) -> NodeRecord?
    /// The node with id `id`, if any (another coordinator changed it: reload it).
    func node(id: String) async throws(CoordinatorError) -> NodeRecord?
    /// Sets a node's admin state (approve, revoke) and returns the updated record; a revoked
    /// node stays revoked.
    func setAdminState(name: String, to state: NodeAdminState, at now: Date) async throws(CoordinatorError) -> NodeRecord
    /// Records a renewed certificate as pending: the current one keeps working until the node
    /// first uses the new one (`promoteCertificate`).
    func storeRenewedCertificate(nodeID: String, serial: String, expiresAt: Date) async throws(CoordinatorError) -> NodeRecord
    /// The node presented `serial`: when it is the pending certificate, it becomes the only one;
    /// a node from before serials were kept adopts it. Returns the updated record, or nil when
    /// nothing changed.
    func promoteCertificate(nodeID: String, serial: String) async throws(CoordinatorError) -> NodeRecord?
    /// Stores a new enrollment token.
    func insertToken(_ token: TokenRecord) async throws(CoordinatorError)
    /// Every token, newest first.
    func tokens() async throws(CoordinatorError) -> [TokenRecord]
    /// Marks a token revoked; `not_found` when there is none with that id.
    func revokeToken(id: String, at now: Date) async throws(CoordinatorError)
}

/// What the store needs from the CA to finish an enrollment inside its transaction.
struct IssuedCertificate: Sendable {
    var pem: String
    var expiresAt: Date
    /// Hex of the certificate's serial number: the one certificate that authenticates the node.
    var serial: String? = nil
}
