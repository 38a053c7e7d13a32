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
/// The commits run on a thread of the queue's own, not on the cooperative pool: each one blocks
/// for an fsync, which must not hold up a thread Swift's tasks need, and a thread that waits for
/// work and writes synchronously hands an entry over once (caller to committer) and its answer
/// back once, where an async write would add a hop to a drain task and one to the database queue
/// and back, each a thread wake-up on the path of every call that waits for its record.
final class GroupCommitQueue<Entry: Sendable>: Sendable {
    private struct Pending {
        var entries: [Entry] = []
        /// One per entry; nil for entries queued without a waiter (`enqueue`).
        var waiters: [CheckedContinuation<Void, any Error>?] = []
        var closed = false
        /// Whether the commit thread waits on `wake` (then whoever changes the state signals it once).
        var idle = false

        /// Marks an idle commit thread as woken; true when the caller must signal it.
        mutating func wakeCommitter() -> Bool {
            guard idle else { return false }
            idle = false
            return true
        }
    }

    private let name: String
    private let maxBatch: Int
    private let commit: @Sendable ([Entry]) throws -> Void
    private let pending = Mutex(Pending())
    private let wake = DispatchSemaphore(value: 0)

    /// `commit` writes one batch in one transaction, synchronously; it is called on the queue's
    /// commit thread only, one batch at a time. `name` names that thread.
    init(name: String, maxBatch: Int, commit: @escaping @Sendable ([Entry]) throws -> Void) {
        self.name = name
        self.maxBatch = maxBatch
        self.commit = commit
    }

    /// Queues the entry `make` builds (under the queue lock, so entries stamped with a time are
    /// queued in time order) and returns once it is committed. Throws the commit's error, or
    /// `CoordinatorError.internal` when the queue has shut down.
    func submit(_ make: () -> Entry) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (accepted, signal) = pending.withLock { p -> (Bool, Bool) in
                guard !p.closed else { return (false, false) }
                p.entries.append(make())
                p.waiters.append(continuation)
                return (true, p.wakeCommitter())
            }
            if signal { wake.signal() }
            if !accepted { continuation.resume(throwing: CoordinatorError(.internal, "coordinator is shutting down")) }
        }
    }

    /// Queues `entry` for the next commit without waiting for it, for callers that cannot wait
    /// (a `deinit`). Returns false when the queue has shut down and the entry was not taken.
    @discardableResult
    func enqueue(_ entry: Entry) -> Bool {
        let (accepted, signal) = pending.withLock { p -> (Bool, Bool) in
            guard !p.closed else { return (false, false) }
            p.entries.append(entry)
            p.waiters.append(nil)
            return (true, p.wakeCommitter())
        }
        if signal { wake.signal() }
        return accepted
    }

    /// Commits batches on the commit thread until graceful shutdown (or cancellation), then
    /// refuses new entries, commits what is left and returns once the thread has ended.
    func run(onError: @escaping @Sendable (_ count: Int, _ error: any Error) -> Void) async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [self] in
                        commitLoop(onError: onError)
                        ended.resume()
                    }
                    thread.name = name
                    thread.start()
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
        let signal = pending.withLock { p in
            p.closed = true
            return p.wakeCommitter()
        }
        if signal { wake.signal() }
    }

    private func commitLoop(onError: @Sendable (Int, any Error) -> Void) {
        while true {
            let (entries, waiters, closed) = pending.withLock { p -> ([Entry], [CheckedContinuation<Void, any Error>?], Bool) in
                let n = min(p.entries.count, maxBatch)
                if n == 0 { p.idle = !p.closed }
                let batch = (Array(p.entries.prefix(n)), Array(p.waiters.prefix(n)), p.closed)
                p.entries.removeFirst(n)
                p.waiters.removeFirst(n)
                return batch
            }
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
