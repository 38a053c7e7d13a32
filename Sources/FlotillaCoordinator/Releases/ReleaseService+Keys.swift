import FlotillaProtocol
import Foundation

extension ReleaseService {
    /// Replaces the signing key (certified by the online root, or by `offlineRoot`) and signs the
    /// current releases again with it: nodes judge each new envelope by the newest root document,
    /// which no longer lists the old key.
    func rotateSigningKey(offlineRoot: SigningKey?, resetReleaseFloor: Bool) async throws(CoordinatorError) -> KeysView {
        let view = if let offlineRoot {
            try await trust.rotateSigningKey(withOfflineRoot: offlineRoot, resetReleaseFloor: resetReleaseFloor)
        } else {
            try await trust.rotateSigningKey(resetReleaseFloor: resetReleaseFloor)
        }
        try await resealAll()
        return view
    }

    /// Replaces the root key (see `TrustRoot.rotateRoot`) and signs the current releases again
    /// with the signing key the new root certifies.
    func rotateRoot(oldRoot: SigningKey?, keepNewRootOnline: Bool) async throws(CoordinatorError) -> (KeysView, SigningKey) {
        let rotated = try await trust.rotateRoot(oldRoot: oldRoot, keepNewRootOnline: keepNewRootOnline)
        try await resealAll()
        return rotated
    }
}
