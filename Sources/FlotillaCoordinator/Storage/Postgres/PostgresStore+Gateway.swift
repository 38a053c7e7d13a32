import FlotillaProtocol
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Gateway configurations and price tables on PostgreSQL.
extension PostgresStore {
    func latestGatewayConfig() async throws(CoordinatorError) -> (version: Int64, spec: GatewaySpec)? {
        let rows = try await database.rows("SELECT version, spec FROM gateway_configs ORDER BY version DESC LIMIT 1")
        guard let row = rows.first else { return nil }
        do {
            return (try row.get("version"), try JSONDecoder().decode(GatewaySpec.self, from: try row.get("spec", as: Data.self)))
        } catch {
            throw .internal("stored gateway configuration is unreadable: \(error)")
        }
    }

    func priceTable(version: Int64) async throws(CoordinatorError) -> PriceTable? {
        let rows = try await database.rows("SELECT price_table FROM price_tables WHERE version = \(version)")
        guard let row = rows.first else { return nil }
        do { return try JSONDecoder().decode(PriceTable.self, from: try row.get("price_table", as: Data.self)) } catch {
            throw .internal("stored price table is unreadable")
        }
    }

    func storeGatewayConfig(_ change: GatewayChange, now: Date) async throws(CoordinatorError) {
        let logger = logger
        do {
            try await database.transaction { connection in
                try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock + 2))", logger)
                try await Self.storeGatewayConfig(connection, change, now: now, logger)
            }
        } catch where error.code == .conflict {
            throw CoordinatorError(.conflict, "another gateway configuration was published meanwhile; retry")
        }
    }

    /// Appends a configuration (and its price table, the first time its version is seen) in the
    /// caller's transaction; `conflict` when its version is not the next.
    static func storeGatewayConfig(_ connection: PostgresConnection, _ change: GatewayChange, now: Date, _ logger: Logger) async throws {
        let current = try await connection.rows("SELECT COALESCE(MAX(version), 0) AS v FROM gateway_configs", logger).first?.get("v", as: Int64.self) ?? 0
        guard current + 1 == change.version else { throw CoordinatorError(.conflict, "another gateway configuration was published meanwhile; retry") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await connection.execute("""
            INSERT INTO gateway_configs (version, spec, created_at)
            VALUES (\(change.version), \(ByteBuffer(bytes: try encoder.encode(change.spec))), \(now.timeIntervalSince1970))
            """, logger)
        if let prices = change.spec.prices {
            try await connection.execute("""
                INSERT INTO price_tables (version, price_table, created_at)
                VALUES (\(prices.version), \(ByteBuffer(bytes: try encoder.encode(prices))), \(now.timeIntervalSince1970)) ON CONFLICT DO NOTHING
                """, logger)
        }
    }
}
