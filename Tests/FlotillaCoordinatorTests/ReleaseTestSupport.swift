import FlotillaProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import FlotillaCoordinator

/// A store, trust root and release service on a temporary data directory.
final class ReleaseFixture: Sendable {
    let base: StoreFixture
    let trust: TrustRoot
    let releases: ReleaseService
    let engine: RolloutEngine
    var store: any FleetStore { base.store }

    convenience init(onlineWindow: TimeInterval = 30,
                     gatewayURLs: @escaping @Sendable () -> [String] = { ["https://coordinator.test:8443/v1"] }) async throws {
        try await self.init(base: try StoreFixture(), onlineWindow: onlineWindow, gatewayURLs: gatewayURLs)
    }

    init(base: StoreFixture, onlineWindow: TimeInterval = 30,
         gatewayURLs: @escaping @Sendable () -> [String] = { ["https://coordinator.test:8443/v1"] }) async throws {
        self.base = base
        trust = try await TrustRoot.open(directory: DataDirectory(base.directory.path), store: base.store, masterKey: base.masterKey)
        releases = ReleaseService(store: base.store, trust: trust, board: ReleaseBoard(), logger: Logger(label: "test"), onlineWindow: onlineWindow,
                                  gatewayURLs: { gatewayURLs() })
        engine = RolloutEngine(store: base.store, releases: releases, logger: Logger(label: "test"), onlineWindow: onlineWindow)
    }

    /// Runs `body` with a fixture on `backend`.
    static func with(_ backend: Backend, onlineWindow: TimeInterval = 30,
                     gatewayURLs: @escaping @Sendable () -> [String] = { ["https://coordinator.test:8443/v1"] },
                     _ body: @Sendable (ReleaseFixture) async throws -> Void) async throws {
        try await StoreFixture.with(backend) { base in
            try await body(try await ReleaseFixture(base: base, onlineWindow: onlineWindow, gatewayURLs: gatewayURLs))
        }
    }

    /// Adds nodes to `group` and marks them seen at `seen` (nil: never seen, so offline).
    @discardableResult
    func addNodes(_ names: [String], group: String = "edge", seen: Date? = Date()) async throws -> [NodeRecord] {
        var nodes: [NodeRecord] = []
        for name in names {
            let node = try await base.addNode(name: name, group: group)
            if let seen {
                try await base.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: seen, readings: HeartbeatStoreTests.readings())])
            }
            nodes.append(node)
        }
        return nodes
    }

    /// Records a node's report as the report writer would.
    func report(_ node: NodeRecord, _ version: Int64, _ status: ReleaseStatus, code: ReleaseErrorCode? = nil) async throws {
        try await base.recordReports([QueuedReport(nodeID: node.id, group: node.group,
                                                   report: ReleaseReport(version: version, status: status, errorCode: code?.rawValue), at: Date())])
    }
}

/// A small valid group spec.
func sampleGroup(
    _ name: String = "edge", skills: [String: String] = ["node-health": "Report health."], config: JSONDocument? = nil,
    policy: RolloutPolicy = RolloutPolicy(canary: 1, batchSize: 2, batchPercent: nil, waitSeconds: 0, failureThreshold: 1)
) -> PublishGroup {
    PublishGroup(
        name: name,
        config: config ?? .object([.init("agents", .object([.init("defaults", .object([.init("model_name", .string("m1"))]))]))]),
        skills: skills.keys.sorted().map { skill in
            PublishSkill(name: skill, files: [
                PublishFile(path: "SKILL.md", mode: 0o644,
                            content: Data("---\nname: \(skill)\ndescription: \(skills[skill]!)\n---\n".utf8).base64EncodedString()),
            ])
        },
        rollout: policy
    )
}
