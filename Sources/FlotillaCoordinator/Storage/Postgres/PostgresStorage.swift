import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle

/// `CoordinatorStorage` on a PostgreSQL server shared by several coordinators.
enum PostgresStorage {
    /// Migrates `database` and builds every seam on it. The database's client must be running
    /// (`PostgresPool.run`) for as long as the storage is used.
    static func open(database: PostgresPool, directory: DataDirectory, masterKey: MasterKey, logger: Logger) async throws(CoordinatorError)
        -> CoordinatorStorage
    {
        do throws(CoordinatorError) {
            let applied = try await PostgresSchema.migrate(database)
            if !applied.isEmpty { logger.notice("database migrated", metadata: ["database": "\(database.name)", "migrations": "\(applied.joined(separator: ","))"]) }
        } catch {
            throw .internal("cannot use the database \(database.name): \(error.message)")
        }
        let bus = PostgresClusterBus(database: database)
        let ledger = PostgresUsageLedger(database: database, coordinatorID: bus.origin, logger: logger)
        let leadership = PostgresLeaderElection(database: database)
        let sweeper = LeaderService(name: "abandoned-reservations", leadership: leadership, service: PeriodicFlushService(period: .seconds(5)) {
            do throws(CoordinatorError) {
                let charged = try await ledger.chargeAbandonedReservations(aliveSince: Date().addingTimeInterval(-CoordinatorMember.deadAfter))
                if charged > 0 { logger.warning("charged the reservations of a coordinator that stopped mid-call at their amount", metadata: ["count": "\(charged)"]) }
            } catch {
                logger.error("abandoned reservations not charged", metadata: ["error": "\(error.message)"])
            }
        })
        return CoordinatorStorage(
            backend: .postgres, store: PostgresStore(database: database), ledger: ledger, events: PostgresEventLog(database: database),
            audit: PostgresAuditLog(database: database, headPath: directory.auditHead, masterKey: masterKey),
            sessions: PostgresDashboardSessions(database: database), nodeKeys: PostgresNodeKeyStore(database: database),
            secrets: PostgresSealedSecrets(database: database), bus: bus, leadership: leadership, members: PostgresMembership(database: database),
            services: [ledger, bus, sweeper]
        )
    }
}
