import Dispatch
import FlotillaProtocol
import Foundation
import ServiceLifecycle
import Synchronization

/// Group commit: callers queue an entry and wait; one commit thread writes everything queued so
/// far in a single transaction and then releases every waiter at once.
///
/// A caller is answered only after its entry is durable, and under load thousands of entries share
/// one fsync instead of paying one each. Heartbeats, release reports and the usage ledger go
/// through it.
///
/// A `.blocking` commit (SQLite) runs on a thread of the queue's own, not on the cooperative
/// pool: each one blocks for an fsync, which must not hold up a thread Swift's tasks need, and a
/// thread that waits for work and writes synchronously hands an entry over once (caller to
/// committer) and its answer back once, where an async write would add a hop to a drain task and
/// one to the database queue and back, each a thread wake-up on the path of every call that waits
/// for its record. An `.async` commit (a database server: the wait is network I/O, not a blocked
/// thread) runs in the task that runs the queue.
final class GroupCommitQueue<Entry: Sendable>: Sendable {
    private struct Pending {
        var entries: [Entry] = []
        /// One per entry; nil for entries queued without a waiter (`enqueue`).
        var waiters: [CheckedContinuation<Void, any Error>?] = []
        var closed = false
        /// Whether the committer waits for work (then whoever changes the state wakes it once).
        var idle = false
        /// The async committer's wait, once it has parked (`.async` commits only).
        var sleeper: CheckedContinuation<Void, Never>?
        let blocking: Bool

        /// Marks an idle committer as woken; returns how to wake it, if it must be.
        mutating func wakeCommitter() -> Wake? {
            guard idle else { return nil }
            idle = false
            if let sleeper {
                self.sleeper = nil
                return .continuation(sleeper)
            }
            // An async committer that has not parked yet sees `idle` cleared and does not park.
            return blocking ? .semaphore : nil
        }
    }

    /// How a committer is woken.
    private enum Wake {
        case semaphore
        case continuation(CheckedContinuation<Void, Never>)
    }

    private let name: String
    private let maxBatch: Int
    private let commit: BatchCommit<Entry>
    private let pending: Mutex<Pending>
    private let wake = DispatchSemaphore(value: 0)

    /// `commit` writes one batch in one transaction; it is called one batch at a time, on the
    /// queue's commit thread (named `name`) when it blocks.
    init(name: String, maxBatch: Int, commit: BatchCommit<Entry>) {
        self.name = name
        self.maxBatch = maxBatch
        self.commit = commit
        if case .blocking = commit {
            pending = Mutex(Pending(blocking: true))
        } else {
            pending = Mutex(Pending(blocking: false))
        }
    }

    /// A queue whose `commit` writes synchronously on the queue's commit thread.
    convenience init(name: String, maxBatch: Int, commit: @escaping @Sendable ([Entry]) throws -> Void) {
        self.init(name: name, maxBatch: maxBatch, commit: .blocking(commit))
    }

    private func signal(_ wake: Wake?) {
        switch wake {
        case .semaphore: self.wake.signal()
        case .continuation(let sleeper): sleeper.resume()
        case nil: break
        }
    }

    /// Queues the entry `make` builds (under the queue lock, so entries stamped with a time are
    /// queued in time order) and returns once it is committed. Throws the commit's error, or
    /// `CoordinatorError.internal` when the queue has shut down.
    func submit(_ make: () -> Entry) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (accepted, wake) = pending.withLock { p -> (Bool, Wake?) in
                guard !p.closed else { return (false, nil) }
                p.entries.append(make())
                p.waiters.append(continuation)
                return (true, p.wakeCommitter())
            }
            signal(wake)
            if !accepted { continuation.resume(throwing: CoordinatorError(.internal, "coordinator is shutting down")) }
        }
    }

    /// Queues `entry` for the next commit without waiting for it, for callers that cannot wait
    /// (a `deinit`). Returns false when the queue has shut down and the entry was not taken.
    @discardableResult
    func enqueue(_ entry: Entry) -> Bool {
        let (accepted, wake) = pending.withLock { p -> (Bool, Wake?) in
            guard !p.closed else { return (false, nil) }
            p.entries.append(entry)
            p.waiters.append(nil)
            return (true, p.wakeCommitter())
        }
        signal(wake)
        return accepted
    }

    /// Commits batches until graceful shutdown (or cancellation), then refuses new entries,
    /// commits what is left and returns once the last batch is done.
    func run(onError: @escaping @Sendable (_ count: Int, _ error: any Error) -> Void) async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                switch commit {
                case .blocking(let commit):
                    await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
                        let thread = Thread { [self] in
                            commitLoop(commit, onError: onError)
                            ended.resume()
                        }
                        thread.name = name
                        thread.start()
                    }
                case .async(let commit):
                    await asyncCommitLoop(commit, onError: onError)
                }
            } onGracefulShutdown: {
                self.close()
            }
        } onCancel: {
            self.close()
        }
    }

    /// Refuses new entries; the commit thread commits what is queued and ends.
    private func close() {
        let wake = pending.withLock { p in
            p.closed = true
            return p.wakeCommitter()
        }
        signal(wake)
    }

    /// The next batch (up to `maxBatch` entries) with its waiters; marks the committer idle when
    /// there is nothing to commit and the queue is open.
    private func takeBatch() -> (entries: [Entry], waiters: [CheckedContinuation<Void, any Error>?], closed: Bool) {
        pending.withLock { p in
            let n = min(p.entries.count, maxBatch)
            if n == 0 { p.idle = !p.closed }
            let batch = (Array(p.entries.prefix(n)), Array(p.waiters.prefix(n)), p.closed)
            p.entries.removeFirst(n)
            p.waiters.removeFirst(n)
            return batch
        }
    }

    private func asyncCommitLoop(_ commit: @Sendable ([Entry]) async throws -> Void, onError: @Sendable (Int, any Error) -> Void) async {
        while true {
            let (entries, waiters, closed) = takeBatch()
            if entries.isEmpty {
                if closed { return }
                await withCheckedContinuation { (woken: CheckedContinuation<Void, Never>) in
                    let parked = pending.withLock { p -> Bool in
                        guard p.idle else { return false }
                        p.sleeper = woken
                        return true
                    }
                    if !parked { woken.resume() }
                }
                continue
            }
            do {
                try await commit(entries)
                for waiter in waiters { waiter?.resume() }
            } catch {
                onError(entries.count, error)
                for waiter in waiters { waiter?.resume(throwing: error) }
            }
        }
    }

    private func commitLoop(_ commit: @Sendable ([Entry]) throws -> Void, onError: @Sendable (Int, any Error) -> Void) {
        while true {
            let (entries, waiters, closed) = takeBatch()
            if entries.isEmpty {
                if closed { return }
                wake.wait()
                continue
            }
            do {
                try commit(entries)
                for waiter in waiters { waiter?.resume() }
            } catch {
                onError(entries.count, error)
                for waiter in waiters { waiter?.resume(throwing: error) }
            }
        }
    }
}

/// How a `GroupCommitQueue` writes one batch, in one transaction: synchronously on the queue's
/// own thread (an embedded database whose commit blocks for an fsync) or as an async call (a
/// database server, where the commit waits on the network).
enum BatchCommit<Entry: Sendable>: Sendable {
    case blocking(@Sendable ([Entry]) throws -> Void)
    case async(@Sendable ([Entry]) async throws -> Void)
}
