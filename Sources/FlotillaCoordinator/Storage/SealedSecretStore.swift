import FlotillaProtocol
import Foundation

/// A provider key as stored: sealed with the master key, which no store ever holds.
struct SealedSecret: Sendable, Equatable {
    var provider: String
    var sealed: [UInt8]
    var setAt: Date
}

/// Where the vault keeps sealed provider keys (`SealingVault` seals and opens them).
protocol SealedSecretStore: Sendable {
    /// Stores (or replaces) the sealed key of `provider`.
    func putSealed(_ secret: SealedSecret) async throws(CoordinatorError)
    /// Deletes the sealed key of `provider`; false when there was none.
    func deleteSealed(provider: String) async throws(CoordinatorError) -> Bool
    /// Every sealed key, by provider name.
    func allSealed() async throws(CoordinatorError) -> [SealedSecret]
}
