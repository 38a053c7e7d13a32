import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The coordinator's connection pool to a PostgreSQL server (postgres-nio's `PostgresClient`),
/// with the few ways the stores use it: a query's rows, a statement, a transaction retried when
/// the server chose it as a deadlock or serialization victim. Server errors become
/// `CoordinatorError.internal` whose message names the SQLSTATE and the server's sentence for
/// the log; the API never shows an internal message to a caller.
final class PostgresPool: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How the database is named in messages (no secret in it).
    let name: String

    /// A client for `url`; nothing connects before `run` is running.
    init(url: DatabaseURL, passwordFile: String? = nil, maxConnections: Int = 40, logger: Logger) throws(CoordinatorError) {
        let password = try url.password(passwordFile: passwordFile)
        var configuration: PostgresClient.Configuration
        if let socket = url.socketDirectory {
            configuration = .init(unixSocketPath: socket + "/.s.PGSQL.\(url.port)", username: url.user, password: password, database: url.database)
        } else {
            configuration = .init(host: url.host, port: url.port, username: url.user, password: password, database: url.database,
                                  tls: try Self.tls(url))
        }
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 2
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        var background = logger
        background.logLevel = max(logger.logLevel, .notice)
        client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.logger = logger
        name = url.description
    }

    private static func tls(_ url: DatabaseURL) throws(CoordinatorError) -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.tls {
        case .disable: return .disable
        case .prefer, .require:
            // As libpq: encrypted, the server's certificate not checked (verify-full checks it).
            tls.certificateVerification = .none
            return url.tls == .prefer ? .prefer(tls) : .require(tls)
        case .verifyFull:
            if let file = url.rootCertificate {
                do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file)) } catch {
                    throw .invalidRequest("sslrootcert \(file) is not a readable PEM certificate file")
                }
            }
            return .require(tls)
        }
    }

    /// Keeps the pool's connections until cancelled: run for as long as the database is used.
    func run() async {
        await client.run()
    }

    /// `body`'s result, with the pool's connections kept (`run`) while it runs and closed after.
    func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    // MARK: Queries

    /// The rows of `query`.
    func rows(_ query: PostgresQuery) async throws(CoordinatorError) -> [PostgresRandomAccessRow] {
        try await Self.mapped { () async throws -> [PostgresRandomAccessRow] in
            var rows: [PostgresRandomAccessRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
            return rows
        }
    }

    /// Runs `query`, discarding any rows.
    func execute(_ query: PostgresQuery) async throws(CoordinatorError) {
        _ = try await rows(query)
    }

    /// Runs `body` in one transaction, committed when it returns and rolled back when it
    /// throws; run again (up to 5 times) when the server aborted it as a deadlock or
    /// serialization victim. A `CoordinatorError` `body` throws comes out unchanged.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws(CoordinatorError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch where Self.isRetriableConflict(error) && attempt < 5 {
                try? await Task.sleep(for: .milliseconds(Int64.random(in: 2...20) * Int64(attempt)))
            } catch {
                throw Self.coordinatorError(error)
            }
        }
    }

    /// The SQLSTATE the server answered with, if `error` is a server error (or a transaction
    /// that failed on one).
    static func sqlState(_ error: any Error) -> String? {
        if let transaction = error as? PostgresTransactionError {
            return (transaction.closureError ?? transaction.commitError ?? transaction.beginError).flatMap(sqlState)
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether the server aborted a transaction as a deadlock (40P01) or serialization (40001) victim.
    static func isRetriableConflict(_ error: any Error) -> Bool {
        ["40P01", "40001"].contains(sqlState(error))
    }

    /// A unique constraint was violated (23505).
    static func isUniqueViolation(_ error: any Error) -> Bool {
        sqlState(error) == "23505"
    }

    /// `body`'s result, its `CoordinatorError` unchanged, any other failure as `internal`.
    static func mapped<T>(_ body: () async throws -> T) async throws(CoordinatorError) -> T {
        do {
            return try await body()
        } catch {
            throw coordinatorError(error)
        }
    }

    /// `error` as a coordinator error: itself when it is one, else `internal` naming what the
    /// server said (for the log only).
    static func coordinatorError(_ error: any Error) -> CoordinatorError {
        switch error {
        case let error as PostgresTransactionError:
            // The closure's own error first (a refusal it threw), then what the server said.
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return coordinatorError(inner) }
            return .internal("database transaction failed")
        case let error as CoordinatorError: return error
        case let error as PSQLError:
            if let info = error.serverInfo, info[.sqlState] == "23505" {
                return CoordinatorError(.conflict, "another change stored the same thing meanwhile; retry")
            }
            if let info = error.serverInfo {
                return .internal("database error \(info[.sqlState] ?? "?"): \(info[.message] ?? "")")
            }
            return .internal("database unreachable (\(error.code))")
        case is CancellationError: return .internal("database call cancelled")
        default: return .internal("database call failed: \(error)")
        }
    }
}

extension PostgresConnection {
    /// The rows of `query` in this connection's transaction.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// Runs `query` in this connection's transaction, discarding any rows.
    func execute(_ query: PostgresQuery, _ logger: Logger) async throws {
        _ = try await rows(query, logger)
    }
}

extension PostgresRandomAccessRow {
    /// Column `name` decoded as `T` (an optional type for a nullable column).
    func get<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try self[name].decode(T.self)
    }
}
