import FlotillaProtocol
import Foundation
import Logging

extension ReleaseService {
    /// Re-signs each group's current release once two thirds of its validity have passed: same
    /// version and content, a fresh expiry. A node already running it sees an equal version and
    /// does nothing; a node that has not got it yet is not refused for expiry. So an idle fleet's
    /// manifests never lapse while the coordinator runs.
    func renewExpiring(now: Date = Date()) async throws(CoordinatorError) -> Int {
        try await reseal(now: now, reason: "release re-signed before expiry") { release in
            let lifetime = release.expiresAt.timeIntervalSince(release.createdAt)
            return lifetime > 0 && release.expiresAt.timeIntervalSince(now) < lifetime / 3
        }
    }

    /// Re-signs every group's current release with the signing key in use, after a rotation: a
    /// node checks the trust root before each new envelope, so an envelope signed by a key the
    /// new root document dropped would be refused.
    @discardableResult
    func resealAll(now: Date = Date()) async throws(CoordinatorError) -> Int {
        try await reseal(now: now, reason: "release re-signed with the new signing key") { _ in true }
    }

    private func reseal(now: Date, reason: String, where selected: (StoredRelease) -> Bool) async throws(CoordinatorError) -> Int {
        var renewed = 0
        for (group, release) in try await store.latestReleases() {
            let lifetime = release.expiresAt.timeIntervalSince(release.createdAt)
            guard selected(release) else { continue }
            guard var manifest = release.manifest() else { throw .internal("stored manifest of release \(release.version) cannot be read") }
            let expiresAt = now.addingTimeInterval(lifetime)
            manifest.expiresAt = Timestamps.rfc3339(expiresAt)
            let envelope = try trust.sealRelease(manifest)
            let desired = DesiredRelease(version: release.version, group: group, envelope: envelope, digest: Envelope.sha256Hex(envelope))
            let nodes = try await store.replaceEnvelope(version: release.version, group: group, envelope: envelope, digest: desired.digest, expiresAt: expiresAt)
            board.assign(Dictionary(uniqueKeysWithValues: nodes.map { ($0, desired) }))
            if board.desired(nodeID: "", group: group)?.version == release.version { board.setGroupDefault(desired, group: group) }
            await bus.publish(.releases(version: release.version, group: group))
            logger.info("\(reason)", metadata: ["version": "\(release.version)", "group": "\(group)", "expires": "\(manifest.expiresAt)"])
            renewed += 1
        }
        return renewed
    }
}
