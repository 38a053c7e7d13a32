/// The coordinators a node may talk to, in the order it prefers them (node.conf's
/// `coordinators`, the first being `coordinator_url`), and the one it talks to now.
///
/// A request that fails in a way another coordinator would not (no connection, a TLS failure, a
/// timeout, a 5xx) moves the node on to the next coordinator at once; once the list has been
/// walked to its end (back to the preferred one), the caller backs off before the next round. Away from its preferred coordinator, the node
/// tries that one again after `returnAfterMilliseconds`, and stays there if it answers.
struct CoordinatorList {
    /// Base URLs without trailing slashes, preferred first, no duplicates.
    let urls: [String]
    /// Which one requests go to now.
    private(set) var index = 0
    /// Monotonic time at which to try the preferred coordinator again (while away from it).
    private(set) var returnAt: Int64 = 0

    /// How long a node stays away from its preferred coordinator before trying it again.
    static let returnAfterMilliseconds: Int64 = 300_000

    /// `urls` in the order the node prefers them; never empty.
    init(urls: [String]) {
        self.urls = urls
    }

    /// The coordinator requests go to now.
    var current: String { urls[index] }

    /// Goes back to the preferred coordinator once the node has been away long enough; returns
    /// true when it did.
    mutating func returnToPreferredIfDue(nowMilliseconds now: Int64) -> Bool {
        guard index != 0, now >= returnAt else { return false }
        index = 0
        return true
    }

    /// Records a failure of the current coordinator. When `error` is one another coordinator
    /// may not have, moves on to the next one; returns true when that one should be tried at
    /// once, false when this round is over (back at the preferred coordinator) or nothing moved.
    mutating func failed(_ error: NodeError, nowMilliseconds now: Int64) -> Bool {
        guard CoordinatorList.isFailover(error), urls.count > 1 else { return false }
        index = (index + 1) % urls.count
        returnAt = now + CoordinatorList.returnAfterMilliseconds
        return index != 0
    }

    /// Whether `error` says the coordinator (not the request, not this node) is the problem.
    static func isFailover(_ error: NodeError) -> Bool {
        switch error {
        case .network: return true
        case .unexpectedStatus(let status): return status >= 500
        case .rejected(let status, _, _): return status >= 500
        default: return false
        }
    }
}
