import FlotillaProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import FlotillaCoordinator

// The time limit turns a hang (a submission never answered) into a failure; it is not a performance bound.
@Suite(.timeLimit(.minutes(1))) struct HeartbeatWriterTests {
    static func entry(_ nodeID: String, _ i: Int) -> HeartbeatEntry {
        var r = HeartbeatRequest()
        r.sequence = Int64(i)
        r.cpuPercent = Double(i % 100)
        // The writer stamps its own receive time; the uptime carries `i` into the time series.
        r.uptimeSeconds = Double(i)
        return HeartbeatEntry(nodeID: nodeID, receivedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(i)), readings: r)
    }

    @Test func concurrentSubmissionsAreAllCommitted() async throws {
        let fixture = try StoreFixture()
        var nodes: [NodeRecord] = []
        for index in 0..<5 { nodes.append(try await fixture.addNode(name: "board-\(index)")) }
        let writer = HeartbeatWriter(store: fixture.sqlite, logger: Logger(label: "test"))
        let runner = Task { try await writer.run() }

        let results = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for i in 0..<500 {
                let entry = Self.entry(nodes[i % nodes.count].id, i)
                group.addTask {
                    do {
                        try await writer.submit(nodeID: entry.nodeID, readings: entry.readings)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }

        #expect(results.count == 500)
        #expect(results.allSatisfy { $0 })
        // Acknowledged means committed: every row is there as soon as the submissions return.
        #expect(try fixture.sqlite.totalHeartbeats() == 500)
        for node in nodes {
            #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 100)
        }
        // Every node's latest state is its newest heartbeat, stamped by the writer at queue time,
        // and the time series is in time order (rowid order never goes back in time).
        let views = try await fixture.store.nodeViews(group: nil, now: Date(), interval: 15)
        #expect(views.allSatisfy { $0.status == .online })
        let outOfOrder = try await fixture.sqlite.pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM heartbeats a JOIN heartbeats b ON b.rowid = a.rowid + 1 WHERE b.received_at < a.received_at
                """)
        }
        #expect(outOfOrder == 0)

        runner.cancel()
        try await runner.value
    }

    @Test func submissionsAfterShutdownAreRefused() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        let writer = HeartbeatWriter(store: fixture.sqlite, logger: Logger(label: "test"))
        let runner = Task { try await writer.run() }
        try await writer.submit(nodeID: node.id, readings: Self.entry(node.id, 1).readings)

        runner.cancel()
        try await runner.value

        let error = await #expect(throws: CoordinatorError.self) {
            try await writer.submit(nodeID: node.id, readings: Self.entry(node.id, 2).readings)
        }
        #expect(error?.code == .internal)
        #expect(try fixture.sqlite.totalHeartbeats() == 1)
    }

    @Test func aFailedBatchFailsItsSubmissionsWithoutStoppingTheWriter() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical  // the failed batch is logged as an error, which is expected here
        let writer = HeartbeatWriter(store: fixture.sqlite, logger: quiet)
        let runner = Task { try await writer.run() }

        // node_state references nodes(id): a heartbeat for an unknown node makes its batch fail.
        await #expect(throws: CoordinatorError.self) {
            try await writer.submit(nodeID: "no-such-node", readings: Self.entry("no-such-node", 1).readings)
        }
        // Nothing of the failed batch was stored, and the writer keeps going.
        #expect(try fixture.sqlite.totalHeartbeats() == 0)
        try await writer.submit(nodeID: node.id, readings: Self.entry(node.id, 2).readings)
        #expect(try fixture.sqlite.totalHeartbeats() == 1)

        runner.cancel()
        try await runner.value
    }

    @Test func submissionsRacingShutdownAllReturnAndAcknowledgedOnesAreStored() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let writer = HeartbeatWriter(store: fixture.sqlite, logger: quiet)
        let runner = Task { try await writer.run() }

        let acknowledged = await withTaskGroup(of: Int?.self, returning: [Int].self) { group in
            for i in 0..<300 {
                if i == 150 { group.addTask { runner.cancel(); return nil } }
                let entry = Self.entry(node.id, i)
                group.addTask {
                    do {
                        try await writer.submit(nodeID: entry.nodeID, readings: entry.readings)
                        return i
                    } catch {
                        return nil
                    }
                }
            }
            return await group.reduce(into: []) { if let i = $1 { $0.append(i) } }
        }
        try await runner.value

        // Every submission returned (none hangs); every acknowledged heartbeat is on disk.
        let stored = try await fixture.sqlite.pool.read { db in
            try Double.fetchAll(db, sql: "SELECT uptime_seconds FROM heartbeats")
        }
        let storedSequences = Set(stored.map { Int($0) })
        #expect(Set(acknowledged).isSubset(of: storedSequences))
        #expect(stored.count >= acknowledged.count)
        // After shutdown nothing more is accepted.
        await #expect(throws: CoordinatorError.self) { try await writer.submit(nodeID: node.id, readings: Self.entry(node.id, 1000).readings) }
    }
}
