import FlotillaProtocol
import Foundation
import Logging
import PostgresNIO

/// What the benchmarks count in a coordinator's storage, on either backend, so that a figure is
/// only reported for work that is durable (every acknowledged heartbeat and gateway call must be
/// there).
package protocol StorageProbe: Sendable {
    /// Rows in the heartbeat time series.
    func totalHeartbeats() async throws -> Int
    /// Heartbeat rows per node name.
    func heartbeatCountsByNodeName() async throws -> [String: Int]
    /// Usage records of calls answered 200 (failed calls have records too, which must not make
    /// up for an answered call whose record is missing).
    func answeredUsageRecords() async throws -> Int
}

/// The embedded store's counts (read from the coordinator's file while it runs).
package struct SQLiteStorageProbe: StorageProbe {
    let store: SQLiteStore

    package init(dataDirectory: String) throws {
        store = try SQLiteStore(path: DataDirectory(dataDirectory).database)
    }

    package func totalHeartbeats() async throws -> Int { try store.totalHeartbeats() }
    package func heartbeatCountsByNodeName() async throws -> [String: Int] { try store.heartbeatCountsByNodeName() }
    package func answeredUsageRecords() async throws -> Int { try store.answeredUsageRecords() }
}

/// A PostgreSQL database of the benchmark's own, created on the server the operator names and
/// dropped afterwards (the URL's user needs `CREATEDB`), so a benchmark never touches a fleet.
package struct PostgresStorageProbe: StorageProbe {
    let database: PostgresPool

    /// Creates a scratch database on `server`, runs `body` with its URL and a probe of it, and
    /// drops it (its coordinators stopped or not) however `body` ends.
    package static func withScratchDatabase<T: Sendable>(
        server: DatabaseURL, passwordFile: String?, _ body: (DatabaseURL, any StorageProbe) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "flotilla.bench.postgres")
        // PostgresNIO warns when a query races the pool's start, which is harmless here.
        logger.logLevel = .error
        let name = "flotilla_bench_" + Secrets.shortID().lowercased().filter { $0.isLetter || $0.isNumber }
        try await withPool(server, passwordFile, logger) { admin in try await admin.execute(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        var url = server
        url.database = name
        let result: Result<T, any Error>
        do {
            result = .success(try await withPool(url, passwordFile, logger) { pool in try await body(url, PostgresStorageProbe(database: pool)) })
        } catch {
            result = .failure(error)
        }
        try await withPool(server, passwordFile, logger) { admin in
            try await admin.execute(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
        return try result.get()
    }

    private static func withPool<T: Sendable>(_ url: DatabaseURL, _ passwordFile: String?, _ logger: Logger,
                                              _ body: (PostgresPool) async throws -> T) async throws -> T {
        let pool = try PostgresPool(url: url, passwordFile: passwordFile, maxConnections: 2, logger: logger)
        return try await pool.whileRunning { try await body(pool) }
    }

    package func totalHeartbeats() async throws -> Int { try await count("SELECT count(*) AS n FROM heartbeats") }
    package func answeredUsageRecords() async throws -> Int { try await count("SELECT count(*) AS n FROM usage WHERE status = 200") }

    package func heartbeatCountsByNodeName() async throws -> [String: Int] {
        let rows = try await database.rows("SELECT n.name AS name, count(*) AS c FROM heartbeats h JOIN nodes n ON n.id = h.node_id GROUP BY n.name")
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.get("name", as: String.self)] = Int(try row.get("c", as: Int64.self)) }
        return counts
    }

    private func count(_ sql: String) async throws -> Int {
        Int(try await database.rows(PostgresQuery(unsafeSQL: sql)).first?.get("n", as: Int64.self) ?? 0)
    }
}
