import Foundation
import Synchronization

/// A node's assigned release as served: the exact envelope bytes and their SHA-256.
struct DesiredRelease: Sendable, Equatable {
    var version: Int64
    var group: String
    var envelope: Data
    var digest: String
}

/// In-memory view of which release each node should run, with long-poll waiters.
///
/// The database is the source of truth (`node_releases`); the rollout engine writes there, then
/// publishes here, which wakes the nodes waiting in `GET /v1/release` at once.
final class ReleaseBoard: Sendable {
    private struct State {
        var desired: [String: DesiredRelease] = [:]
        /// The release a node of a group gets when it has none assigned (it enrolled after the
        /// group's last rollout).
        var groupDefault: [String: DesiredRelease] = [:]
        var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// The release `nodeID` (in `group`) should run, if any.
    func desired(nodeID: String, group: String) -> DesiredRelease? {
        state.withLock { $0.desired[nodeID] ?? $0.groupDefault[group] }
    }

    /// Assigns releases and wakes the nodes concerned.
    func assign(_ releases: [String: DesiredRelease]) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for (node, release) in releases {
                state.desired[node] = release
                if let waiting = state.waiters.removeValue(forKey: node) { woken.append(contentsOf: waiting.values) }
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Sets the release new nodes of `group` get, waking every waiter without an assignment.
    func setGroupDefault(_ release: DesiredRelease, group: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.groupDefault[group] = release
            var woken: [CheckedContinuation<Void, Never>] = []
            for (node, waiting) in state.waiters where state.desired[node] == nil {
                woken.append(contentsOf: waiting.values)
                state.waiters[node] = nil
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits up to `timeout` until the node's release differs from the one it has `seen`
    /// (SHA-256 hex of the envelope); returns it, or nil when nothing changed in time.
    func wait(nodeID: String, group: String, seen: String, timeout: Duration) async -> DesiredRelease? {
        if let current = desired(nodeID: nodeID, group: group), current.digest != seen { return current }
        if timeout <= .zero { return nil }
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if Task.isCancelled { return true }
                            state.waiters[nodeID, default: [:]][id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.cancelWaiter(nodeID: nodeID, id: id)
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        if let current = desired(nodeID: nodeID, group: group), current.digest != seen { return current }
        return nil
    }

    private func cancelWaiter(nodeID: String, id: UUID) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let waiting = state.waiters[nodeID]?.removeValue(forKey: id)
            if state.waiters[nodeID]?.isEmpty == true { state.waiters[nodeID] = nil }
            return waiting
        }
        continuation?.resume()
    }
}
