import FlotillaProtocol
import Foundation
import PostgresNIO
import Logging
import ServiceLifecycle
import Testing

@testable import FlotillaCoordinator

/// The storage backends store tests run against: the same test, two implementations.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    init(_ backend: CoordinatorStorage.Backend) {
        self = backend == .sqlite ? .sqlite : .postgres
    }

    var testDescription: String { rawValue }

    /// The backend of tests that take none (`FLOTILLA_TEST_BACKEND=postgres` runs them all on
    /// PostgreSQL, for trying the whole suite there); SQLite by default.
    static var fromEnvironment: Backend {
        ProcessInfo.processInfo.environment["FLOTILLA_TEST_BACKEND"] == "postgres" ? .postgres : .sqlite
    }

    /// The server `scripts/test.sh` starts (`scripts/postgres.sh`), as a database URL whose
    /// user may create databases.
    static var postgresURL: String? { ProcessInfo.processInfo.environment["FLOTILLA_TEST_POSTGRES_URL"] }

    /// SQLite always; PostgreSQL when a server is configured, or when `FLOTILLA_REQUIRE_POSTGRES`
    /// says it must be (the test command sets both, so a missing server fails rather than skips).
    static var available: [Backend] {
        postgresURL != nil || ProcessInfo.processInfo.environment["FLOTILLA_REQUIRE_POSTGRES"] == "1" ? allCases : [.sqlite]
    }
}

/// A fresh database on the test server for each test (LISTEN/NOTIFY channels and advisory locks
/// are per database, so tests running in parallel never see each other's), dropped afterwards.
enum PostgresTestDatabase {
    static func with<T: Sendable>(_ body: @Sendable (PostgresPool) async throws -> T) async throws -> T {
        let adminURL = try DatabaseURL(try #require(Backend.postgresURL, "FLOTILLA_TEST_POSTGRES_URL is not set: run scripts/test.sh, or scripts/postgres.sh start DIR"))
        var logger = Logger(label: "test-postgres")
        logger.logLevel = .warning
        let name = "flotilla_t_" + Secrets.shortID()
        try await withAdmin(adminURL, logger) { admin in try await admin.execute("CREATE DATABASE \(unescaped: name)") }
        var url = adminURL
        url.database = name
        let database = try PostgresPool(url: url, maxConnections: 20, logger: logger)
        let result = await Result { () async throws -> T in try await database.whileRunning { try await body(database) } }
        try await withAdmin(adminURL, logger) { admin in try await admin.execute("DROP DATABASE \(unescaped: name) WITH (FORCE)") }
        return try result.get()
    }

    /// Runs `body` against the server's own database.
    static func withAdmin(_ url: DatabaseURL, _ logger: Logger, _ body: @Sendable (PostgresPool) async throws -> Void) async throws {
        let admin = try PostgresPool(url: url, maxConnections: 2, logger: logger)
        try await admin.whileRunning { try await body(admin) }
    }
}

/// Runs `services` while `body` runs, then shuts them down gracefully.
func running(_ services: [any Service], _ body: () async throws -> Void) async throws {
    let logger = Logger(label: "test-services")
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing body.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
