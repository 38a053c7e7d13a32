import FlotillaProtocol
import Foundation

extension ReleaseService {
    /// Replaces the signing key (certified by the online root, or by `offlineRoot`) and signs the
    /// current releases again with it: nodes judge each new envelope by the newest root document,
    /// which no longer lists the old key.
    func rotateSigningKey(offlineRoot: SigningKey?, resetReleaseFloor: Bool) throws(CoordinatorError) -> KeysView {
        let view = if let offlineRoot {
            try trust.rotateSigningKey(withOfflineRoot: offlineRoot, resetReleaseFloor: resetReleaseFloor)
        } else {
            try trust.rotateSigningKey(resetReleaseFloor: resetReleaseFloor)
        }
        try resealAll()
        return view
    }

    /// Replaces the root key (see `TrustRoot.rotateRoot`) and signs the current releases again
    /// with the signing key the new root certifies.
    func rotateRoot(oldRoot: SigningKey?, keepNewRootOnline: Bool) throws(CoordinatorError) -> (KeysView, SigningKey) {
        let rotated = try trust.rotateRoot(oldRoot: oldRoot, keepNewRootOnline: keepNewRootOnline)
        try resealAll()
        return rotated
    }
}
