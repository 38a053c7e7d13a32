import FlotillaProtocol
import Foundation

/// Every gateway configuration published (the highest version is in force) and every price
/// table by its version.
protocol GatewayConfigStore: Sendable {
    /// The configuration in force, or nil before the first publish.
    func latestGatewayConfig() async throws(CoordinatorError) -> (version: Int64, spec: GatewaySpec)?
    /// The price table stored under `version`, if any.
    func priceTable(version: Int64) async throws(CoordinatorError) -> PriceTable?
    /// Appends a configuration on its own (a publish that changes no release); `conflict` when
    /// another publish stored its version meanwhile.
    func storeGatewayConfig(_ change: GatewayChange, now: Date) async throws(CoordinatorError)
}
