import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Where a coordinator keeps its state: every storage seam, opened on one backend, plus what
/// coordinators sharing that backend use to agree (the bus, leader election, membership).
///
/// `sqlite(directory:logger:)` is the embedded default; `PostgresStorage.open` the shared one.
/// Nothing above this struct knows which it got.
struct CoordinatorStorage: Sendable {
    enum Backend: String, Sendable {
        case sqlite
        case postgres
    }

    let backend: Backend
    let store: any FleetStore
    let ledger: any UsageLedger
    let events: any EventLog
    let audit: any AuditLog
    let sessions: any DashboardSessionStore
    let nodeKeys: any NodeKeyStore
    let secrets: any SealedSecretStore
    let bus: any ClusterBus
    let leadership: any LeaderElection
    let members: any ClusterMembership
    /// What must run while the coordinator runs: group-commit writers, the bus listener.
    let services: [any Service]

    /// The embedded backend: `DATA/flotilla.sqlite`, one coordinator.
    static func sqlite(directory: DataDirectory, logger: Logger, now: Date = Date()) throws(CoordinatorError) -> CoordinatorStorage {
        let store: SQLiteStore
        do { store = try SQLiteStore(path: directory.database) } catch {
            throw .internal("cannot open the database \(directory.database): \(error)")
        }
        return try sqlite(store: store, directory: directory, logger: logger, now: now)
    }

    /// The embedded backend on a store already open.
    static func sqlite(store: SQLiteStore, directory: DataDirectory, logger: Logger, now: Date = Date()) throws(CoordinatorError) -> CoordinatorStorage {
        let ledger = try SQLiteUsageLedger(store: store, logger: logger, now: now)
        return CoordinatorStorage(
            backend: .sqlite, store: store, ledger: ledger, events: SQLiteEventLog(store: store),
            audit: SQLiteAuditLog(store: store, headPath: directory.auditHead), sessions: SQLiteDashboardSessions(store: store),
            nodeKeys: SQLiteNodeKeyStore(store: store), secrets: SQLiteSealedSecrets(store: store), bus: LocalClusterBus(),
            leadership: SoleLeader(), members: SoleMember(), services: [ledger]
        )
    }
}
