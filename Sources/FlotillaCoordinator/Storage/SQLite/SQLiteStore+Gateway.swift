import FlotillaProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// The gateway configuration in force: the highest version, or nil before the first publish.
    func latestGatewayConfig() async throws(CoordinatorError) -> (version: Int64, spec: GatewaySpec)? {
        let row = try read { db in try Row.fetchOne(db, sql: "SELECT version, spec FROM gateway_configs ORDER BY version DESC LIMIT 1") }
        guard let row else { return nil }
        do {
            return (row["version"], try JSONDecoder().decode(GatewaySpec.self, from: row["spec"] as Data))
        } catch {
            throw .internal("stored gateway configuration is unreadable: \(error)")
        }
    }

    /// The price table stored under `version`, if any.
    func priceTable(version: Int64) async throws(CoordinatorError) -> PriceTable? {
        let data = try read { db in
            try Data.fetchOne(db, sql: "SELECT price_table FROM price_tables WHERE version = ?", arguments: [version])
        }
        guard let data else { return nil }
        do { return try JSONDecoder().decode(PriceTable.self, from: data) } catch { throw .internal("stored price table is unreadable") }
    }

    func storeGatewayConfig(_ change: GatewayChange, now: Date) async throws(CoordinatorError) {
        try write { db in try Self.storeGatewayConfig(db, version: change.version, spec: change.spec, now: now) }
    }

    /// Appends a gateway configuration (and its price table, the first time its version is
    /// seen) inside the caller's transaction. Fails with `conflict` when another publish stored
    /// `version` meanwhile.
    static func storeGatewayConfig(_ db: Database, version: Int64, spec: GatewaySpec, now: Date) throws {
        let current = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM gateway_configs") ?? 0
        guard current + 1 == version else { throw CoordinatorError(.conflict, "another gateway configuration was published meanwhile; retry") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try db.execute(sql: "INSERT INTO gateway_configs (version, spec, created_at) VALUES (?, ?, ?)",
                       arguments: [version, try encoder.encode(spec), now.timeIntervalSince1970])
        if let prices = spec.prices {
            try db.execute(sql: "INSERT OR IGNORE INTO price_tables (version, price_table, created_at) VALUES (?, ?, ?)",
                           arguments: [prices.version, try encoder.encode(prices), now.timeIntervalSince1970])
        }
    }
}
