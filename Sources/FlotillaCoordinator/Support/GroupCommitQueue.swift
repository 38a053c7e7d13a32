import FlotillaProtocol
import ServiceLifecycle
import Synchronization

/// Group commit: callers queue an entry and wait; one drain loop commits everything queued so far
/// in a single transaction and then releases every waiter at once.
///
/// A caller is answered only after its entry is durable, and under load thousands of entries share
/// one fsync instead of paying one each. Heartbeats and release reports both go through it.
final class GroupCommitQueue<Entry: Sendable>: Sendable {
    private struct Pending {
        var entries: [Entry] = []
        /// One per entry; nil for entries queued without a waiter (`enqueue`).
        var waiters: [CheckedContinuation<Void, any Error>?] = []
        var closed = false
    }

    private let maxBatch: Int
    private let commit: @Sendable ([Entry]) async throws -> Void
    private let pending = Mutex(Pending())
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// `commit` writes one batch in one transaction; it is called from `run` only, one at a time.
    init(maxBatch: Int, commit: @escaping @Sendable ([Entry]) async throws -> Void) {
        self.maxBatch = maxBatch
        self.commit = commit
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues the entry `make` builds (under the queue lock, so entries stamped with a time are
    /// queued in time order) and returns once it is committed. Throws the commit's error, or
    /// `CoordinatorError.internal` when the queue has shut down.
    func submit(_ make: () -> Entry) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = pending.withLock { p in
                guard !p.closed else { return false }
                p.entries.append(make())
                p.waiters.append(continuation)
                return true
            }
            if accepted {
                wake.yield()
            } else {
                continuation.resume(throwing: CoordinatorError(.internal, "coordinator is shutting down"))
            }
        }
    }

    /// Queues `entry` for the next commit without waiting for it, for callers that cannot wait
    /// (a `deinit`). Returns false when the queue has shut down and the entry was not taken.
    @discardableResult
    func enqueue(_ entry: Entry) -> Bool {
        let accepted = pending.withLock { p in
            guard !p.closed else { return false }
            p.entries.append(entry)
            p.waiters.append(nil)
            return true
        }
        if accepted { wake.yield() }
        return accepted
    }

    /// Commits batches until graceful shutdown, then refuses new entries and commits what is left.
    func run(onError: @escaping @Sendable (_ count: Int, _ error: any Error) -> Void) async {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeStream { await self.drain(onError: onError) }
        }
        pending.withLock { $0.closed = true }
        await drain(onError: onError)
    }

    private func drain(onError: @Sendable (Int, any Error) -> Void) async {
        while true {
            let (entries, waiters) = pending.withLock { p -> ([Entry], [CheckedContinuation<Void, any Error>?]) in
                let n = min(p.entries.count, maxBatch)
                let batch = (Array(p.entries.prefix(n)), Array(p.waiters.prefix(n)))
                p.entries.removeFirst(n)
                p.waiters.removeFirst(n)
                return batch
            }
            if entries.isEmpty { return }
            do {
                try await commit(entries)
                for waiter in waiters { waiter?.resume() }
            } catch {
                onError(entries.count, error)
                for waiter in waiters { waiter?.resume(throwing: error) }
            }
        }
    }

    deinit { wake.finish() }
}
