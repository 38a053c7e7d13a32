import FlotillaProtocol
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Drives running rollouts: starts the next wave once the current one has finished (or its nodes
/// are offline) and the policy's wait has passed, pauses at the failure threshold, and marks a
/// rollout completed when every reachable node is done. Offline nodes keep their assignment and
/// update when they return.
final class RolloutEngine: Service {
    private let store: any FleetStore
    private let releases: ReleaseService
    private let logger: Logger
    private let onlineWindow: TimeInterval
    private let tick: Duration
    /// When each (version, group)'s current wave was first seen finished.
    private let finishedAt = Mutex<[String: Date]>([:])
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: any FleetStore, releases: ReleaseService, logger: Logger, onlineWindow: TimeInterval, tick: Duration = .milliseconds(500)) {
        self.store = store
        self.releases = releases
        self.logger = logger
        self.onlineWindow = onlineWindow
        self.tick = tick
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for an evaluation now (a report arrived, an admin acted).
    func poke() { wake.yield() }

    /// Evaluates on every poke and every tick, and re-signs releases about to expire every ten
    /// minutes, until graceful shutdown; the ticker and the re-signing are child tasks of the run.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { [wake = self.wake, tick = self.tick] in
                    while (try? await Task.sleep(for: tick)) != nil { wake.yield() }
                }
                group.addTask { [releases = self.releases, logger = self.logger] in
                    repeat {
                        do { _ = try await releases.renewExpiring() } catch { logger.error("re-signing releases failed", metadata: ["error": "\(error)"]) }
                    } while (try? await Task.sleep(for: .seconds(600))) != nil
                }
                // Ends when the run is cancelled (the stream's iteration returns nil then).
                for await _ in self.wakeStream {
                    do { try await self.evaluate(now: Date()) } catch {
                        self.logger.error("rollout evaluation failed", metadata: ["error": "\(error)"])
                    }
                }
                group.cancelAll()
            }
        }
    }

    /// One pass over every running rollout.
    func evaluate(now: Date) async throws(CoordinatorError) {
        for version in try await store.rolloutVersions(states: [.running]) {
            try await evaluate(version: version, now: now)
        }
    }

    private func evaluate(version: Int64, now: Date) async throws(CoordinatorError) {
        let groups = try await store.rolloutGroups(version: version)
        let counts = try await store.targetCounts(version: version, onlineSince: now.addingTimeInterval(-onlineWindow))
        var allDone = true
        for group in groups {
            let mine = counts.filter { $0.group == group.group && $0.status != "superseded" && $0.status != "aborted" }
            let total = mine.reduce(0) { $0 + $1.count }
            let failures = mine.filter { $0.status == ReleaseStatus.failed.rawValue || $0.status == ReleaseStatus.rolledBack.rawValue }
                .reduce(0) { $0 + $1.count } - group.failureBaseline
            let threshold = group.policy.failureThreshold
                ?? max(1, Int((Double(total) * (group.policy.failurePercent ?? 100) / 100).rounded(.up)))
            if failures >= threshold {
                let reason = "\(failures) node(s) of group \(group.group) failed (threshold \(threshold)); fix and `flotilla rollout resume \(version)`, or abort"
                if try await store.setRolloutState(version: version, to: .paused, reason: reason, from: [.running]) {
                    logger.warning("rollout paused", metadata: ["version": "\(version)", "reason": "\(reason)"])
                }
                return
            }
            let key = "\(version)/\(group.group)"
            let started = mine.filter { $0.wave < group.wavesStarted }
            let busy = started.filter { $0.online && !(ReleaseStatus(rawValue: $0.status)?.isTerminal ?? false) }
                .reduce(0) { $0 + $1.count }
            if group.wavesStarted < group.waves {
                allDone = false
                guard busy == 0 else { continue }
                let since = finishedAt.withLock { map in
                    if let since = map[key] { return since }
                    map[key] = now
                    return now
                }
                guard now.timeIntervalSince(since) >= group.policy.waitSeconds else { continue }
                let nodes = try await store.startWave(version: version, group: group.group, wave: group.wavesStarted, now: now)
                finishedAt.withLock { $0[key] = nil }
                try await releases.assignStarted(version: version, group: group.group, nodes: nodes)
                logger.info("rollout wave started", metadata: [
                    "version": "\(version)", "group": "\(group.group)", "wave": "\(group.wavesStarted + 1)/\(group.waves)",
                    "nodes": "\(nodes.count)",
                ])
            } else if busy > 0 {
                allDone = false
            }
        }
        if allDone, try await store.setRolloutState(version: version, to: .completed, reason: nil, from: [.running]) {
            for group in groups { try await releases.makeGroupDefault(version: version, group: group.group) }
            logger.info("rollout completed", metadata: ["version": "\(version)"])
        }
    }
}
