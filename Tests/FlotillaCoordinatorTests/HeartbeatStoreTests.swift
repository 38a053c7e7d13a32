import FlotillaProtocol
import Foundation
import GRDB
import Testing

@testable import FlotillaCoordinator

@Suite struct HeartbeatStoreTests {
    let interval: TimeInterval = 15

    static func readings(cpu: Double = 12.5, sequence: Int64 = 1) -> HeartbeatRequest {
        var r = HeartbeatRequest()
        r.sequence = sequence
        r.agentVersion = "0.1.0"
        r.arch = "aarch64"
        r.kernel = "6.6.31-flotilla"
        r.uptimeSeconds = 86_400.5
        r.load1m = 0.25
        r.load5m = 0.5
        r.load15m = 1.75
        r.cpuPercent = cpu
        r.memTotalBytes = 268_435_456
        r.memAvailableBytes = 134_217_728
        r.diskTotalBytes = 31_914_983_424
        r.diskFreeBytes = 20_401_094_656
        r.temperatures = [
            TemperatureReading(zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.312),
            TemperatureReading(zone: "thermal_zone1", type: "gpu-thermal", celsius: 61.5),
            TemperatureReading(zone: "thermal_zone2", type: nil, celsius: -3.5),
        ]
        return r
    }

    @Test(arguments: Backend.available)
    func latestReadingsShowInTheFleetView(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let node = try await fixture.addNode(name: "board-01")
            let seen = Date(timeIntervalSince1970: 1_800_000_000)
            let r = Self.readings()
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: seen, readings: r)])

            let views = try await fixture.store.nodeViews(group: nil, now: seen.addingTimeInterval(5), interval: interval)
            let view = try #require(views.first)
            #expect(views.count == 1)
            #expect(view.id == node.id)
            #expect(view.name == "board-01")
            #expect(view.group == "edge")
            #expect(view.status == .online)
            #expect(view.lastSeen == "2027-01-15T08:00:00Z")
            #expect(view.lastSeen == Timestamps.rfc3339(seen))
            #expect(view.arch == "aarch64")
            #expect(view.agentVersion == "0.1.0")
            #expect(view.kernel == "6.6.31-flotilla")
            #expect(view.uptimeSeconds == 86_400.5)
            #expect(view.load1m == 0.25)
            #expect(view.load5m == 0.5)
            #expect(view.load15m == 1.75)
            #expect(view.cpuPercent == 12.5)
            #expect(view.memTotalBytes == 268_435_456)
            #expect(view.memAvailableBytes == 134_217_728)
            #expect(view.diskTotalBytes == 31_914_983_424)
            #expect(view.diskFreeBytes == 20_401_094_656)
            #expect(view.temperatureC == 61.5)  // the hottest zone
            #expect(view.temperatures == r.temperatures)
            #expect(view.certificateExpiresAt == Timestamps.rfc3339(node.certificateExpiresAt))
            #expect(view.enrolledAt == Timestamps.rfc3339(node.enrolledAt))
            #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 1)
        }
    }

    @Test(arguments: Backend.available)
    func newerHeartbeatReplacesLatestStateAndMissingReadingsBecomeNull(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let node = try await fixture.addNode(name: "board-01")
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: t0, readings: Self.readings())])
            var sparse = HeartbeatRequest()
            sparse.cpuPercent = 99
            try await fixture.writeHeartbeats([
                HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(15), readings: sparse)
            ])
            let view = try #require(try await fixture.store.nodeViews(group: nil, now: t0.addingTimeInterval(20), interval: interval).first)
            #expect(view.cpuPercent == 99)
            #expect(view.lastSeen == Timestamps.rfc3339(t0.addingTimeInterval(15)))
            #expect(view.temperatureC == nil)
            #expect(view.temperatures.isEmpty)
            #expect(view.kernel == nil)
            #expect(view.memTotalBytes == nil)
            #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 2)
        }
    }

    @Test(arguments: Backend.available)
    func localModelIsTheLatestHeartbeatsWordAndClearsWithoutIt(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let node = try await fixture.addNode(name: "board-01")
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            let now = t0.addingTimeInterval(60)
            func shown() async throws -> (view: String?, page: String?) {
                let view = try #require(try await fixture.store.nodeViews(group: nil, now: now, interval: interval).first)
                let page = try #require(try await fixture.store.nodePage(NodePageQuery(), now: now, interval: interval).nodes.first)
                return (view.localModel, page.localModel)
            }
            #expect(try await shown() == (nil, nil))
            var down = Self.readings()
            down.localModel = "down"
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: t0, readings: down)])
            #expect(try await shown() == ("down", "down"))
            var up = Self.readings(sequence: 2)
            up.localModel = "up"
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(15), readings: up)])
            #expect(try await shown() == ("up", "up"))
            // A heartbeat without the field: the board no longer has a local model.
            try await fixture.writeHeartbeats([
                HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(30), readings: Self.readings(sequence: 3))
            ])
            #expect(try await shown() == (nil, nil))
            // An older heartbeat arriving late does not bring it back.
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(20), readings: down)])
            #expect(try await shown() == (nil, nil))
            #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 4)
        }
    }

    @Test func olderHeartbeatDoesNotOverwriteLatestButIsAppended() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        let newer = Date(timeIntervalSince1970: 1_800_000_060)
        let older = Date(timeIntervalSince1970: 1_800_000_000)
        try await fixture.writeHeartbeats([
            HeartbeatEntry(nodeID: node.id, receivedAt: newer, readings: Self.readings(cpu: 20, sequence: 2))
        ])
        try await fixture.writeHeartbeats([
            HeartbeatEntry(nodeID: node.id, receivedAt: older, readings: Self.readings(cpu: 80, sequence: 1))
        ])
        let view = try #require(try await fixture.store.nodeViews(group: nil, now: newer, interval: interval).first)
        #expect(view.cpuPercent == 20)
        #expect(view.lastSeen == Timestamps.rfc3339(newer))
        #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 2)
        let sequence = try await fixture.sqlite.pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT sequence FROM node_state WHERE node_id = ?", arguments: [node.id])
        }
        #expect(sequence == 2)
    }

    @Test func batchWithSeveralNodesAndHeartbeats() async throws {
        let fixture = try StoreFixture()
        let a = try await fixture.addNode(name: "a")
        let b = try await fixture.addNode(name: "b")
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await fixture.writeHeartbeats([
            HeartbeatEntry(nodeID: a.id, receivedAt: t0, readings: Self.readings(cpu: 1)),
            HeartbeatEntry(nodeID: b.id, receivedAt: t0, readings: Self.readings(cpu: 2)),
            HeartbeatEntry(nodeID: a.id, receivedAt: t0.addingTimeInterval(1), readings: Self.readings(cpu: 3)),
        ])
        let views = try await fixture.store.nodeViews(group: nil, now: t0, interval: interval)
        #expect(views.map(\.name) == ["a", "b"])
        #expect(views.map(\.cpuPercent) == [3, 2])
        #expect(try await fixture.store.heartbeatCount(nodeID: a.id) == 2)
        #expect(try await fixture.store.heartbeatCount(nodeID: b.id) == 1)
        #expect(try fixture.sqlite.totalHeartbeats() == 3)
    }

    @Test func pruningDeletesOnlyOlderRowsAndKeepsLatestState() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let entries = (0..<10).map {
            HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(Double($0) * 60), readings: Self.readings(cpu: Double($0)))
        }
        try await fixture.writeHeartbeats(entries)

        // Rows at t0 ... t0+4m are older than the cutoff; t0+5m is not (strictly older only).
        let removed = try await fixture.store.pruneHeartbeats(before: t0.addingTimeInterval(5 * 60))
        #expect(removed == 5)
        #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 5)
        let oldest = try await fixture.sqlite.pool.read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(received_at) FROM heartbeats")
        }
        #expect(oldest == t0.addingTimeInterval(5 * 60).timeIntervalSince1970)

        // Pruning everything keeps the latest state per node.
        #expect(try await fixture.store.pruneHeartbeats(before: t0.addingTimeInterval(86_400)) == 5)
        #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 0)
        let view = try #require(try await fixture.store.nodeViews(group: nil, now: t0, interval: interval).first)
        #expect(view.cpuPercent == 9)
        #expect(view.lastSeen == Timestamps.rfc3339(t0.addingTimeInterval(9 * 60)))
        #expect(try await fixture.store.pruneHeartbeats(before: t0.addingTimeInterval(86_400)) == 0)
    }

    @Test(arguments: Backend.available)
    func nodeViewsFilterByGroupAndName(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.addNode(name: "k2", group: "kitchen")
            try await fixture.addNode(name: "k1", group: "kitchen")
            try await fixture.addNode(name: "g1", group: "garage")
            let now = Date()

            let kitchen = try await fixture.store.nodeViews(group: "kitchen", now: now, interval: interval)
            #expect(kitchen.map(\.name) == ["k1", "k2"])
            #expect(kitchen.allSatisfy { $0.group == "kitchen" })
            #expect(try await fixture.store.nodeViews(group: "garage", now: now, interval: interval).map(\.name) == ["g1"])
            #expect(try await fixture.store.nodeViews(group: "attic", now: now, interval: interval).isEmpty)
            // Ordered by group, then name.
            #expect(try await fixture.store.nodeViews(group: nil, now: now, interval: interval).map(\.name) == ["g1", "k1", "k2"])
            #expect(try await fixture.store.nodeViews(group: nil, name: "k2", now: now, interval: interval).map(\.name) == ["k2"])
            #expect(try await fixture.store.nodeViews(group: "garage", name: "k2", now: now, interval: interval).isEmpty)
        }
    }

    @Test(arguments: Backend.available)
    func nodeWithoutHeartbeatIsOfflineWithNilReadings(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.addNode(name: "silent")
            let view = try #require(try await fixture.store.nodeViews(group: nil, now: Date(), interval: interval).first)
            #expect(view.status == .offline)
            #expect(view.lastSeen == nil)
            #expect(view.arch == nil)
            #expect(view.agentVersion == nil)
            #expect(view.kernel == nil)
            #expect(view.uptimeSeconds == nil)
            #expect(view.load1m == nil)
            #expect(view.cpuPercent == nil)
            #expect(view.memTotalBytes == nil)
            #expect(view.memAvailableBytes == nil)
            #expect(view.diskTotalBytes == nil)
            #expect(view.diskFreeBytes == nil)
            #expect(view.temperatureC == nil)
            #expect(view.temperatures.isEmpty)
            #expect(view.certificateExpiresAt != nil)
        }
    }

    @Test(arguments: Backend.available)
    func statusFollowsLastSeenAndAdminState(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let node = try await fixture.addNode(name: "board-01")
            let seen = Date(timeIntervalSince1970: 1_800_000_000)
            try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: seen, readings: Self.readings())])
            func status(at now: Date) async throws -> NodeStatus? {
                try await fixture.store.nodeViews(group: nil, now: now, interval: interval).first?.status
            }
            #expect(try await status(at: seen.addingTimeInterval(30)) == .online)
            #expect(try await status(at: seen.addingTimeInterval(100)) == .stale)
            #expect(try await status(at: seen.addingTimeInterval(1000)) == .offline)
            _ = try await fixture.store.setAdminState(name: "board-01", to: .revoked, at: seen)
            #expect(try await status(at: seen.addingTimeInterval(1)) == .revoked)
        }
    }
}

/// The time series has no time index: pruning binary-searches rowids, which must find the exact
/// boundary whatever the gaps left by earlier deletes.
@Suite struct HeartbeatTimeSeriesTests {
    @Test func firstRowIDFindsTheTimeBoundaryAcrossGaps() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "ts")
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await fixture.writeHeartbeats((0..<100).map {
            HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(Double($0)), readings: HeartbeatRequest())
        })
        // Punch holes in the rowid sequence, as chunked deletes of other data would.
        try await fixture.sqlite.pool.write { db in try db.execute(sql: "DELETE FROM heartbeats WHERE rowid % 7 = 0") }
        try await fixture.sqlite.pool.read { db in
            for cut in [0.0, 0.5, 13, 14, 49.5, 98, 99, 150] {
                let boundary = try SQLiteStore.firstRowID(db, atOrAfter: t0.addingTimeInterval(cut))
                let before = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats WHERE rowid < ? AND received_at >= ?", arguments: [boundary, t0.timeIntervalSince1970 + cut])
                let after = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heartbeats WHERE rowid >= ? AND received_at < ?", arguments: [boundary, t0.timeIntervalSince1970 + cut])
                #expect(before == 0, "cut \(cut)")
                #expect(after == 0, "cut \(cut)")
            }
        }
    }

    @Test func pruneRemovesInChunksUpToTheCutoff() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "chunks")
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        try await fixture.writeHeartbeats((0..<1000).map {
            HeartbeatEntry(nodeID: node.id, receivedAt: t0.addingTimeInterval(Double($0)), readings: HeartbeatRequest())
        })
        #expect(try fixture.sqlite.pruneHeartbeats(before: t0.addingTimeInterval(750), chunk: 64) == 750)
        #expect(try await fixture.store.heartbeatCount(nodeID: node.id) == 250)
        #expect(try fixture.sqlite.pruneHeartbeats(before: t0.addingTimeInterval(750), chunk: 64) == 0)
    }
}
