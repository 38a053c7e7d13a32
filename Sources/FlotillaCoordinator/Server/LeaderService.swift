import Foundation
import Logging
import ServiceLifecycle

/// Runs `service` only while this coordinator holds the lease `name` (`LeaderElection`): work
/// that two coordinators must not do at once (driving rollouts, pruning) runs on one of them,
/// and moves to another within seconds when that one dies.
struct LeaderService<Inner: Service>: Service {
    let name: String
    let leadership: any LeaderElection
    let service: Inner

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await leadership.whileLeader(name) { [service] in
                try? await service.run()
            }
        }
    }
}

/// Announces this coordinator to the others sharing its database every few seconds, and leaves
/// at shutdown.
struct MembershipService: Service {
    let members: any ClusterMembership
    let id: String
    let logger: Logger
    /// The URL nodes reach this coordinator at, nil until the listener is bound (a coordinator
    /// listening on port 0 must not advertise it).
    let url: @Sendable () -> String?

    func run() async throws {
        let startedAt = Date()
        await cancelWhenGracefulShutdown {
            repeat {
                guard let url = url() else { continue }
                do throws(CoordinatorError) { try await members.announce(id: id, url: url, startedAt: startedAt, now: Date()) } catch {
                    logger.warning("cannot announce this coordinator", metadata: ["error": "\(error.message)"])
                }
            } while (try? await Task.sleep(for: url() == nil ? .milliseconds(100) : CoordinatorMember.announceEvery)) != nil
        }
        await members.leave(id: id)
    }
}
