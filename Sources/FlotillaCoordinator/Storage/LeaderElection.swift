import Foundation

/// Work only one coordinator of a fleet may do at a time: driving rollouts, re-signing
/// releases, pruning and rolling up, charging reservations left by a coordinator that died.
protocol LeaderElection: Sendable {
    /// Runs `body` for as long as this coordinator holds the lease called `name`, waiting for it
    /// while another coordinator does: `body` is cancelled as soon as the lease may have been
    /// lost, and tried again once it is held again. Returns when the calling task is cancelled.
    func whileLeader(_ name: String, _ body: @escaping @Sendable () async -> Void) async
}

/// The leader election of a coordinator that shares its database with no other: always leader.
struct SoleLeader: LeaderElection {
    func whileLeader(_ name: String, _ body: @escaping @Sendable () async -> Void) async {
        await body()
    }
}
