import FlotillaProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import FlotillaCoordinator

/// The SQL behind the dashboard and /metrics: the heartbeat roll-up the charts read, the paged
/// nodes table (status computed in SQL exactly as `NodeStatusRule` does), and the metrics'
/// label bounds.
@Suite struct OperatorViewTests {
    let fixture: StoreFixture
    let interval: TimeInterval = 15
    static let interval: TimeInterval = 15

    init() throws {
        fixture = try StoreFixture()
    }

    private static func beat(_ fixture: StoreFixture, _ node: NodeRecord, at date: Date, cpu: Double, memory: Int64 = 100) async throws {
        var readings = HeartbeatStoreTests.readings(cpu: cpu)
        readings.memAvailableBytes = memory
        try await fixture.writeHeartbeats([HeartbeatEntry(nodeID: node.id, receivedAt: date, readings: readings)])
    }

    @Test(arguments: Backend.available)
    func rollUpSummarisesEachMinuteAndMergesAMinuteFilledInTwoRounds(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let a = try await fixture.addNode(name: "a")
            let b = try await fixture.addNode(name: "b")
            let minute = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 600
            try await Self.beat(fixture, a, at: Date(timeIntervalSince1970: minute + 1), cpu: 10, memory: 300)
            try await Self.beat(fixture, b, at: Date(timeIntervalSince1970: minute + 2), cpu: 90)
            try await Self.beat(fixture, a, at: Date(timeIntervalSince1970: minute + 61), cpu: 50)
            // Heartbeats not yet rolled up are read from the series itself.
            let before = try await fixture.store.readings(nodeID: a.id, from: Date(timeIntervalSince1970: minute - 60),
                                                    to: Date(timeIntervalSince1970: minute + 119))
            #expect(before.map(\.samples) == [1, 1] && before.first?.cpuPercent == 10)
            // A minute summarised in two rounds is merged: the first takes two heartbeats, the
            // second the rest (SQLite goes by arrival, PostgreSQL by time: either way a's first
            // minute is split across the rounds).
            try await Self.beat(fixture, a, at: Date(timeIntervalSince1970: minute + 30), cpu: 30, memory: 200)
            #expect(try await fixture.store.rollUpHeartbeats(maxRows: 2) == 2)
            #expect(try await fixture.store.rollUpHeartbeats() == 2)
            #expect(try await fixture.store.rollUpHeartbeats() == 0)
            let points = try await fixture.store.readings(nodeID: a.id, from: Date(timeIntervalSince1970: minute - 60),
                                                    to: Date(timeIntervalSince1970: minute + 119))
            #expect(points.map(\.samples) == [2, 1])
            #expect(points.first?.cpuPercent == 20)
            #expect(points.first?.cpuMax == 30)
            #expect(points.first?.memAvailableBytes == 200)
            #expect(points.last?.cpuPercent == 50)
            // A wide range is bucketed: a week in at most about 240 points.
            let week = try await fixture.store.readings(nodeID: a.id, from: Date().addingTimeInterval(-7 * 86_400), to: Date())
            #expect((1...2).contains(week.count) && week.reduce(0) { $0 + $1.samples } == 3)
            try await fixture.store.pruneHeartbeatMinutes(before: Date())
            #expect(try await fixture.store.readings(nodeID: a.id, from: Date(timeIntervalSince1970: minute - 60), to: Date()).isEmpty)
        }
    }

    /// A backlog larger than one batch is caught up in one pass (up to its batch limit), not a
    /// batch a minute.
    @Test func theRetentionServiceRollsUpABacklogInOnePass() async throws {
        let a = try await fixture.addNode(name: "a")
        for offset in 0..<25 { try await Self.beat(fixture, a, at: Date().addingTimeInterval(Double(-1_800 + offset * 60)), cpu: Double(offset)) }
        let limited = RetentionService(store: fixture.sqlite, retention: 86_400, period: .seconds(3600), logger: Logger(label: "test"),
                                       rollUpBatch: 5, rollUpBatches: 2)
        try await limited.rollUp()
        #expect(try await fixture.store.rollUpHeartbeats(maxRows: 1) == 1, "two batches of 5, then the pass ends")
        let service = RetentionService(store: fixture.sqlite, retention: 86_400, period: .seconds(3600), logger: Logger(label: "test"), rollUpBatch: 5)
        try await service.rollUp()
        #expect(try await fixture.store.rollUpHeartbeats() == 0, "nothing left for the next minute")
        let points = try await fixture.store.readings(nodeID: a.id, from: Date().addingTimeInterval(-3_600), to: Date())
        #expect(points.reduce(0) { $0 + $1.samples } == 25)
    }

    @Test func rollUpFollowsRowidsThatStartAgainAfterPruningEmptiedTheSeries() async throws {
        let a = try await fixture.addNode(name: "a")
        for offset in 0..<3 { try await Self.beat(fixture, a, at: Date().addingTimeInterval(Double(-600 + offset)), cpu: 10) }
        #expect(try await fixture.store.rollUpHeartbeats() == 3)
        _ = try await fixture.store.pruneHeartbeats(before: Date().addingTimeInterval(60))
        try await Self.beat(fixture, a, at: Date(), cpu: 70)
        #expect(try await fixture.store.rollUpHeartbeats() == 1)
        let points = try await fixture.store.readings(nodeID: a.id, from: Date().addingTimeInterval(-120), to: Date())
        #expect(points.last?.cpuPercent == 70 && points.last?.samples == 1)
    }

    @Test(arguments: Backend.available)
    func nodePageFiltersSortsAndPagesInSQLWithTheStatusRule(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let now = Date()
            let ages: [(String, TimeInterval?)] = [("n-online", 5), ("n-stale", 60), ("n-offline", 3600), ("n-never", nil), ("n_under%score", 1)]
            var nodes: [String: NodeRecord] = [:]
            for (name, age) in ages {
                let node = try await fixture.addNode(name: name, group: name == "n-stale" ? "other" : "edge")
                nodes[name] = node
                if let age { try await Self.beat(fixture, node, at: now.addingTimeInterval(-age), cpu: Double(name.count)) }
            }
            let pending = try await fixture.store.setAdminState(name: "n-never", to: .pending, at: now)
            #expect(pending.adminState == .pending)
            for status in NodeStatus.allCases {
                var query = NodePageQuery()
                query.status = status
                let (total, page) = try await fixture.store.nodePage(query, now: now, interval: Self.interval)
                let expected = try await fixture.store.nodeViews(group: nil, now: now, interval: Self.interval).filter { $0.status == status }
                #expect(total == expected.count, "\(status)")
                #expect(Set(page.map(\.name)) == Set(expected.map(\.name)), "\(status)")
            }
            var byCPU = NodePageQuery()
            byCPU.sort = .cpu
            byCPU.descending = true
            byCPU.limit = 2
            let (total, top) = try await fixture.store.nodePage(byCPU, now: now, interval: Self.interval)
            #expect(total == 5)
            #expect(top.map(\.name) == ["n_under%score", "n-offline"])
            byCPU.offset = 2
            #expect(try await fixture.store.nodePage(byCPU, now: now, interval: Self.interval).nodes.map(\.name) == ["n-online", "n-stale"])
            var search = NodePageQuery()
            search.search = "_under%"
            #expect(try await fixture.store.nodePage(search, now: now, interval: Self.interval).nodes.map(\.name) == ["n_under%score"])
            search.search = "%"
            #expect(try await fixture.store.nodePage(search, now: now, interval: Self.interval).total == 1)
            var group = NodePageQuery()
            group.group = "other"
            #expect(try await fixture.store.nodePage(group, now: now, interval: Self.interval).nodes.map(\.name) == ["n-stale"])
            let counts = try await fixture.store.nodeStatusCounts(now: now, interval: Self.interval)
            #expect(counts.reduce(0) { $0 + $1.count } == 5)
            #expect(counts.contains { $0.group == "other" && $0.status == .stale && $0.count == 1 })
        }
    }

    @Test func htmlEscapesEverythingInterpolatedButHTML() {
        let name = "<script>alert('x')</script>&\""
        let fragment: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(fragment.text == "<td title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;</td>")
        let inner: HTML = "<b>\(1)</b>"
        #expect(("<p>\(inner)</p>" as HTML).text == "<p><b>1</b></p>")
    }

    @Test func formsDecodeAndSignInOnlyReturnsToDashboardPaths() {
        #expect(FormData.parse("token=a+b%2Bc&csrf=x&empty=&flag") == ["token": "a b+c", "csrf": "x", "empty": "", "flag": ""])
        #expect(DashboardAPI.safeNext("/ui/nodes?group=edge") == "/ui/nodes?group=edge")
        for hostile in ["https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "/admin/v1/keys", nil, "/ui/\r\nSet-Cookie: x"] {
            #expect(DashboardAPI.safeNext(hostile) == "/ui/")
        }
    }

    @Test func csrfTokensBelongToTheirSession() {
        let one = SessionSecrets(cookieValue: "flt_session_one")
        let two = SessionSecrets(cookieValue: "flt_session_two")
        #expect(one.acceptsCSRF(one.csrfToken))
        #expect(!one.acceptsCSRF(two.csrfToken))
        #expect(!one.acceptsCSRF(nil) && !one.acceptsCSRF(""))
        #expect(one.idHash != one.csrfToken && one.idHash.count == 64)
    }

    @Test func metricsLabelsStayBoundedAndVanishedSeriesAreDropped() {
        let metrics = FleetMetrics()
        var refused = UsageRecord(requestID: "r1", at: Date(), nodeID: "n", group: "edge", provider: "", model: "made-up-\(UUID())",
                                  upstreamModel: "", endpoint: .chatCompletions, streamed: false, usage: TokenUsage(), costNanos: 0,
                                  priceVersion: nil, latencyMs: 1, ttfbMs: nil, status: 404, outcome: .refused, source: .none,
                                  errorCode: "model_not_found")
        metrics.gatewayCall(refused)
        refused.errorCode = "rate_limited"
        refused.status = 429
        metrics.gatewayCall(refused)
        metrics.setGauges([.init(name: "flotilla_nodes", labels: [("group", "old"), ("status", "online")], value: 3)])
        metrics.setGauges([.init(name: "flotilla_nodes", labels: [("group", "edge"), ("status", "online")], value: 2)])
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains(#"flotilla_gateway_calls_total{group="edge",model="unresolved",outcome="refused"} 1"#))
        #expect(text.contains(#"flotilla_gateway_calls_total{group="edge",model="unresolved",outcome="rate_limited"} 1"#))
        #expect(text.contains(#"flotilla_gateway_refusals_total{group="edge",reason="rate_limited"} 1"#))
        #expect(!text.contains("made-up-"))
        #expect(text.contains(#"flotilla_nodes{group="edge",status="online"} 2"#))
        #expect(!text.contains(#"group="old""#))
    }

    @Test func liveStreamSlotsComeBackWhenTheirResponsesAreReleased() {
        let live = DashboardLive()
        var slots: [StreamSlot] = []
        for _ in 0..<DashboardLive.maxStreams {
            #expect(live.openStream())
            slots.append(StreamSlot(live: live))
        }
        #expect(!live.openStream())
        slots.removeAll()
        #expect(live.openStream())
    }

    @Test func aBurstOfFailedSignInsIsAuditedAtOnceAndTheRestWithinTheNextMinute() throws {
        let failures = SignInFailures()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(failures.record(now: start, source: "10.0.0.1") == 1)
        for i in 1...500 { #expect(failures.record(now: start.addingTimeInterval(Double(i) / 100), source: "10.0.0.\(i % 9)") == nil) }
        // Nothing more is due within the minute; after it, the rest of the burst with the latest address.
        #expect(failures.flush(now: start.addingTimeInterval(30)) == nil)
        let flushed = try #require(failures.flush(now: start.addingTimeInterval(61)))
        #expect(flushed.count == 500 && flushed.source == "10.0.0.5")
        #expect(failures.flush(now: start.addingTimeInterval(200)) == nil)
        #expect(failures.record(now: start.addingTimeInterval(300), source: "10.0.0.1") == 1)
    }

    @Test func requestsAreSortedIntoFixedRouteClasses() {
        let cases = ["/v1/heartbeat": "heartbeat", "/v1/enroll": "enroll", "/v1/chat/completions": "gateway", "/v1/messages": "gateway",
                     "/v1/release": "release", "/v1/blobs/ab": "release", "/v1/trust": "release", "/v1/renew": "node",
                     "/admin/v1/nodes": "admin", "/ui/nodes/x": "dashboard", "/ui": "dashboard", "/metrics": "metrics",
                     "/healthz": "other", "/random/\(UUID())": "other"]
        for (path, expected) in cases {
            #expect(RequestMetricsMiddleware.routeClass(path) == expected, "\(path)")
            // The label's values are a closed set, whatever the path.
            #expect(FleetMetrics.routeClasses.contains(RequestMetricsMiddleware.routeClass(path + "/\(UUID())")))
        }
    }
}
