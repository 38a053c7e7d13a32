import FlotillaProtocol
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// `ClusterBus` over PostgreSQL's `LISTEN`/`NOTIFY` on channel `flotilla`. A change is notified
/// after its transaction committed, and every other coordinator's listener has it within
/// milliseconds (a revoked node is refused everywhere at once, not after a cache expires).
///
/// Notifications are not stored: a coordinator whose listening connection broke may have missed
/// some, so after it listens again it gets `.resync` and reloads what it keeps in memory. The
/// listening connection is pinged every two seconds, so a silent network failure is noticed.
final class PostgresClusterBus: ClusterBus, Service {
    static let channel = "flotilla"
    let origin: String
    private let database: PostgresPool
    private let stream: AsyncStream<ClusterEvent>
    private let continuation: AsyncStream<ClusterEvent>.Continuation

    init(database: PostgresPool, origin: String = Secrets.shortID()) {
        self.database = database
        self.origin = origin
        (stream, continuation) = AsyncStream.makeStream(of: ClusterEvent.self, bufferingPolicy: .bufferingNewest(100_000))
    }

    func publish(_ event: ClusterEvent) async {
        let payload = origin + "|" + event.encoded
        do {
            try await database.execute("SELECT pg_notify(\(Self.channel), \(payload))")
        } catch {
            database.logger.warning("change not announced to the other coordinators", metadata: ["error": "\(error.message)"])
        }
    }

    func events() -> AsyncStream<ClusterEvent> { stream }

    /// Listens until cancelled, reconnecting after a failure (then `.resync`).
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var listenedBefore = false
            while !Task.isCancelled {
                do {
                    let resync = listenedBefore
                    listenedBefore = true
                    try await self.database.client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            if resync { self.continuation.yield(.resync) }
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask {
                                    for try await notification in notifications { self.deliver(notification.payload) }
                                    throw CoordinatorError.internal("the listening connection closed")
                                }
                                group.addTask { try await Self.keepAlive(connection, self.database.logger) }
                                try await group.next()
                                group.cancelAll()
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    self.database.logger.warning("not listening to the other coordinators; retrying", metadata: ["error": "\(PostgresPool.coordinatorError(error).message)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        continuation.finish()
    }

    private func deliver(_ payload: String) {
        guard let bar = payload.firstIndex(of: "|") else { return }
        guard payload[..<bar] != origin, let event = ClusterEvent(encoded: String(payload[payload.index(after: bar)...])) else { return }
        continuation.yield(event)
    }

    /// Pings `connection` every two seconds; throws when a ping fails or takes over three.
    static func keepAlive(_ connection: PostgresConnection, _ logger: Logger) async throws {
        while true {
            try await Task.sleep(for: .seconds(2))
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await connection.execute("SELECT 1", logger)
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(3))
                    return false
                }
                let answered = try await group.next() ?? false
                group.cancelAll()
                if !answered { throw CoordinatorError.internal("the database did not answer a ping within 3 s") }
            }
        }
    }
}

/// `LeaderElection` with PostgreSQL session advisory locks: the holder of lock `name` keeps a
/// connection with it open and pings it; when the connection breaks (the coordinator died, or
/// lost the database), the server releases the lock and the next coordinator to ask takes it,
/// within a second or two. The work itself writes idempotently (a wave starts once), so even a
/// leader that has not yet noticed it lost its lease cannot apply anything twice.
struct PostgresLeaderElection: LeaderElection {
    let database: PostgresPool
    /// How often a coordinator that is not the leader asks again.
    var retry: Duration = .milliseconds(500)

    /// A stable 64-bit key for `name` (FNV-1a), tagged so it cannot collide with the schema's own locks.
    static func key(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("flotilla-lease:" + name).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    func whileLeader(_ name: String, _ body: @escaping @Sendable () async -> Void) async {
        let key = Self.key(name)
        let logger = database.logger
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    let held = try await connection.rows("SELECT pg_try_advisory_lock(\(key)) AS held", logger).first?.get("held", as: Bool.self) ?? false
                    guard held else { return }
                    logger.info("leading", metadata: ["lease": "\(name)"])
                    defer { logger.info("no longer leading", metadata: ["lease": "\(name)"]) }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { await body() }
                        group.addTask { try await PostgresClusterBus.keepAlive(connection, logger) }
                        try await group.next()
                        group.cancelAll()
                    }
                    _ = try? await connection.rows("SELECT pg_advisory_unlock(\(key))", logger)
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning("lease lost or not reachable", metadata: ["lease": "\(name)", "error": "\(PostgresPool.coordinatorError(error).message)"])
                }
            }
            try? await Task.sleep(for: retry)
        }
    }
}
