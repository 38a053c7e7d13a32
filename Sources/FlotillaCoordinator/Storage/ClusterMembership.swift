import Foundation
import Synchronization

/// A coordinator that shares the fleet's database, as it announces itself.
struct CoordinatorMember: Sendable, Equatable {
    /// The bus origin of its process (a new one at every start).
    var id: String
    /// The URL nodes reach it at (`--advertise-url`, or derived from `--hostname`).
    var url: String
    var startedAt: Date
    var seenAt: Date
}

/// Which coordinators are running: each announces itself every few seconds, and one not seen
/// for `CoordinatorMember.deadAfter` is gone (its reservations are charged, its share of rate
/// limits given back to the others).
protocol ClusterMembership: Sendable {
    /// Records this coordinator as alive now, with the URL it advertises.
    func announce(id: String, url: String, startedAt: Date, now: Date) async throws(CoordinatorError)
    /// Coordinators seen since `since`, oldest first.
    func members(seenSince since: Date) async throws(CoordinatorError) -> [CoordinatorMember]
    /// Removes this coordinator's entry (a clean shutdown).
    func leave(id: String) async
}

extension ClusterMembership {
    /// `own` URL first, then every other coordinator's seen within `CoordinatorMember.deadAfter`,
    /// oldest first (none when the membership cannot be read).
    func liveURLs(own: String, now: Date = Date()) async -> [String] {
        var urls = [own]
        let members = (try? await members(seenSince: now.addingTimeInterval(-CoordinatorMember.deadAfter))) ?? []
        for member in members where !urls.contains(member.url) { urls.append(member.url) }
        return urls
    }
}

extension CoordinatorMember {
    /// How long a coordinator may go unseen before the others treat it as gone.
    static let deadAfter: TimeInterval = 15
    /// How often each coordinator announces itself.
    static let announceEvery: Duration = .seconds(2)
}

/// The membership of a coordinator that shares its database with no other: only itself.
final class SoleMember: ClusterMembership {
    private let me = Mutex<CoordinatorMember?>(nil)

    func announce(id: String, url: String, startedAt: Date, now: Date) async throws(CoordinatorError) {
        me.withLock { $0 = CoordinatorMember(id: id, url: url, startedAt: startedAt, seenAt: now) }
    }

    func members(seenSince since: Date) async throws(CoordinatorError) -> [CoordinatorMember] {
        me.withLock { $0 }.map { [$0] } ?? []
    }

    func leave(id: String) async {
        me.withLock { $0 = nil }
    }
}
