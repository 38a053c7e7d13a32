import FlotillaProtocol
import Foundation
import GRDB
import Logging
import Testing

@testable import FlotillaCoordinator

/// Node gateway keys, the gateway configuration and the usage ledger against a real SQLite file.
@Suite struct GatewayStateTests {
    // MARK: Node keys

    @Test func nodeKeysAreHashedRotatedAndSurviveARestart() async throws {
        let fixture = try StoreFixture()
        let node = try await fixture.addNode(name: "board-01")
        let keys = NodeKeyService(store: SQLiteNodeKeyStore(store: fixture.sqlite))
        let first = try await keys.issue(nodeID: node.id)
        #expect(first.key.hasPrefix("flt_gw_"))
        #expect(keys.node(presenting: first.key) == node.id)
        #expect(keys.keyID(nodeID: node.id) == String(Secrets.hex(Secrets.hash(first.key)).prefix(16)))

        // Only the hash is stored.
        let stored = try await fixture.sqlite.pool.read { db in try Data.fetchOne(db, sql: "SELECT key_hash FROM gateway_keys") }
        #expect(stored.map(Array.init) == Secrets.hash(first.key))
        // No column of the table holds the key itself (as text or as bytes).
        let cells = try await fixture.sqlite.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM gateway_keys").flatMap { row in row.databaseValues.map { value -> String in
                if case .blob(let data) = value.storage { return String(decoding: data, as: UTF8.self) }
                return value.description
            } }
        }
        #expect(!cells.isEmpty && !cells.contains { $0.contains(first.key) })

        let second = try await keys.issue(nodeID: node.id)
        #expect(keys.node(presenting: first.key) == nil)
        #expect(keys.node(presenting: second.key) == node.id)

        let restarted = NodeKeyService(store: SQLiteNodeKeyStore(store: fixture.sqlite))
        try await restarted.load()
        #expect(restarted.node(presenting: second.key) == node.id)
        #expect(restarted.node(presenting: first.key) == nil)

        try await restarted.revoke(nodeID: node.id)
        #expect(restarted.node(presenting: second.key) == nil)
        #expect(restarted.keyID(nodeID: node.id) == nil)
        let again = NodeKeyService(store: SQLiteNodeKeyStore(store: fixture.sqlite))
        try await again.load()
        #expect(again.node(presenting: second.key) == nil)
    }

    @Test func enrollmentStoresTheKeyHashInItsTransaction() async throws {
        let fixture = try StoreFixture()
        let token = try await fixture.addToken()
        let key = NodeKeyService.make(nodeID: "n-1", now: Date())
        _ = try await fixture.store.enroll(tokenHash: Secrets.hash(token.secret), name: "board-01", nodeID: "n-1", now: Date(),
                                     gatewayKey: key.record) { (_: String) throws(CoordinatorError) -> IssuedCertificate in
            IssuedCertificate(pem: "c", expiresAt: Date().addingTimeInterval(60))
        }
        #expect(try await fixture.sqlite.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gateway_keys") } == 1)

        // A refused enrollment (name taken) stores no key either.
        let other = try await fixture.addToken()
        let refused = NodeKeyService.make(nodeID: "n-2", now: Date())
        await #expect(throws: CoordinatorError.self) {
            try await fixture.store.enroll(tokenHash: Secrets.hash(other.secret), name: "board-01", nodeID: "n-2", now: Date(),
                                     gatewayKey: refused.record) { (_: String) throws(CoordinatorError) -> IssuedCertificate in
                IssuedCertificate(pem: "c", expiresAt: Date().addingTimeInterval(60))
            }
        }
        #expect(try await fixture.sqlite.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gateway_keys") } == 1)
    }

    // MARK: Configuration

    static let prices = PriceTable(version: 1, models: ["gpt-4o-mini": ModelPrice(inputMicros: 150_000, outputMicros: 600_000)])
    static let spec = GatewaySpec(
        providers: [ProviderSpec(name: "openai", kind: .openai, baseURL: "https://api.openai.com/v1",
                                 models: [ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini"), ModelRoute(name: "big", upstream: "gpt-5")])],
        prices: prices, groupModels: ["demo": ["fleet-default"]]
    )

    @Test func planShowsChangesAndWarnsOfMissingKeysAndPrices() async throws {
        let fixture = try StoreFixture()
        let service = try await GatewayConfigService.open(store: fixture.sqlite)
        let (plan, change) = try await service.plan(Self.spec, keysSet: [])
        #expect(plan.changed)
        #expect(plan.providersAdded == ["openai"])
        #expect(plan.modelsAdded == ["big", "fleet-default"])
        #expect(plan.groupsChanged == ["demo"])
        #expect(plan.priceVersion == 1 && plan.currentPriceVersion == nil)
        #expect(plan.warnings.contains { $0.contains("flotilla secret set openai") })
        #expect(plan.warnings.contains { $0.contains("'big'") && $0.contains("model_not_priced") })
        try await service.commit(try #require(change))
        #expect(service.catalog.version == 1)

        // The same spec again: nothing to do; a restart reads the stored one back.
        #expect(try await service.plan(Self.spec, keysSet: ["openai"]).1 == nil)
        #expect(try await GatewayConfigService.open(store: fixture.sqlite).catalog.spec == Self.spec)

        var moved = Self.spec
        moved.providers[0].models[0].upstream = "gpt-4o"
        moved.groupModels = [:]
        let (next, _) = try await service.plan(moved, keysSet: ["openai"])
        #expect(next.modelsChanged == ["fleet-default"])
        #expect(next.providersChanged == ["openai"])
        #expect(next.groupsChanged == ["demo"])
    }

    @Test func aPriceVersionNamesOneTableForever() async throws {
        let fixture = try StoreFixture()
        let service = try await GatewayConfigService.open(store: fixture.sqlite)
        try await service.commit(try #require(service.plan(Self.spec, keysSet: []).1))
        var changed = Self.spec
        changed.prices?.models["gpt-4o-mini"]?.outputMicros = 700_000
        let sameVersion = await #expect(throws: CoordinatorError.self) { try await service.plan(changed, keysSet: []) }
        #expect(sameVersion?.code == .invalidSpec)
        changed.prices?.version = 2
        try await service.commit(try #require(service.plan(changed, keysSet: []).1))
        // Going back to version 1 with other prices than version 1 had is refused; its own are fine.
        var rewritten = changed
        rewritten.prices?.version = 1
        await #expect(throws: CoordinatorError.self) { try await service.plan(rewritten, keysSet: []) }
        #expect(try await service.plan(Self.spec, keysSet: []).0.changed)
    }

    @Test(arguments: [
        GatewaySpec(providers: [ProviderSpec(name: "p", kind: .openai, baseURL: "http://api.example.com/v1", models: [ModelRoute(name: "m", upstream: "u")])]),
        GatewaySpec(providers: [ProviderSpec(name: "p", kind: .openai, baseURL: "https://user:pw@api.example.com", models: [ModelRoute(name: "m", upstream: "u")])]),
        GatewaySpec(providers: [ProviderSpec(name: "p", kind: .openai, baseURL: "https://api.example.com", models: [])]),
        GatewaySpec(providers: [ProviderSpec(name: "p", kind: .openai, baseURL: "https://a.example", models: [ModelRoute(name: "m", upstream: "u")]),
                                ProviderSpec(name: "q", kind: .anthropic, baseURL: "https://b.example", models: [ModelRoute(name: "m", upstream: "v")])]),
        GatewaySpec(providers: [], groupModels: ["demo": ["ghost"]]),
        GatewaySpec(providers: [], prices: PriceTable(version: 1, models: ["u": ModelPrice(inputMicros: -1, outputMicros: 0)])),
        GatewaySpec(providers: [ProviderSpec(name: "Bad Name", kind: .openai, baseURL: "https://a.example", models: [ModelRoute(name: "m", upstream: "u")])]),
    ])
    func invalidConfigurationsAreRefusedAndNothingIsStored(spec: GatewaySpec) async throws {
        let fixture = try StoreFixture()
        let service = try await GatewayConfigService.open(store: fixture.sqlite)
        let error = await #expect(throws: CoordinatorError.self) { try await service.plan(spec, keysSet: []) }
        #expect(error?.code == .invalidSpec)
        #expect(try await fixture.store.latestGatewayConfig() == nil)
    }

    @Test func catalogRoutesByModelGroupAndAPI() async throws {
        var spec = Self.spec
        spec.providers.append(ProviderSpec(name: "claude", kind: .anthropic, baseURL: "https://api.anthropic.com/v1",
                                           models: [ModelRoute(name: "haiku", upstream: "claude-3-5-haiku-latest")]))
        spec.prices?.defaultPrice = ModelPrice(inputMicros: 1, outputMicros: 1)
        let catalog = GatewayCatalog(version: 1, spec: spec)
        #expect(try catalog.route(model: "fleet-default", group: "demo", api: .openai).upstream == "gpt-4o-mini")
        #expect(try catalog.route(model: "big", group: "other", api: .openai).price == ModelPrice(inputMicros: 1, outputMicros: 1))
        await expectCoordinatorError(.modelNotAllowed) { _ = try catalog.route(model: "big", group: "demo", api: .openai) }
        await expectCoordinatorError(.modelNotFound) { _ = try catalog.route(model: "nope", group: "demo", api: .openai) }
        await expectCoordinatorError(.modelWrongAPI) { _ = try catalog.route(model: "haiku", group: "other", api: .openai) }
        #expect(catalog.models(group: "demo").map(\.model) == ["fleet-default"])
        #expect(catalog.models(group: "other").map(\.model) == ["big", "fleet-default", "haiku"])
    }

    // MARK: Ledger

    static func record(_ node: String, model: String = "fleet-default", at: Date, cost: Int64, outcome: UsageOutcome = .ok,
                       id: String = UUID().uuidString) -> UsageRecord {
        UsageRecord(requestID: id, at: at, nodeID: node, group: "demo", provider: "openai", model: model, upstreamModel: "gpt-4o-mini",
                    endpoint: .chatCompletions, streamed: false, usage: TokenUsage(input: 10, output: 2, cached: 1), costNanos: cost,
                    priceVersion: 1, latencyMs: 1.5, ttfbMs: 1.0, status: 200, outcome: outcome, source: .reported)
    }

    @Test func ledgerCommitsConcurrentRecordsAndSumsThem() async throws {
        let fixture = try StoreFixture()
        let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: Logger(label: "test"))
        let now = Date(timeIntervalSince1970: 1_796_000_000)  // 2026-11-30T00:53:20Z
        let yesterday = now.addingTimeInterval(-86_400)
        let lastMonth = now.addingTimeInterval(-40 * 86_400)
        try await withLedgerRunning(ledger) {
            await withThrowingTaskGroup(of: Void.self) { calls in
                for index in 0..<200 {
                    calls.addTask {
                        try await ledger.record(Self.record(index % 2 == 0 ? "a" : "b", model: index % 4 == 0 ? "big" : "fleet-default",
                                                            at: now, cost: 1000, outcome: index == 1 ? .refused : .ok, id: "r\(index)"))
                    }
                }
            }
            try await ledger.record(Self.record("a", at: yesterday, cost: 5))
            try await ledger.record(Self.record("a", at: lastMonth, cost: 7))
        }
        #expect(try await ledger.count(requestIDs: (0..<200).map { "r\($0)" } + ["missing"]) == 200)

        let byNode = try await ledger.report(UsageQuery(by: .node, from: now.addingTimeInterval(-1), to: now.addingTimeInterval(1))).rows
        #expect(byNode.map(\.key).sorted() == ["a", "b"])
        #expect(byNode.allSatisfy { $0.calls == 100 && $0.costNanos == 100_000 && $0.inputTokens == 1000 && $0.cachedTokens == 100 })
        #expect(byNode.first { $0.key == "b" }?.refused == 1)
        let byModel = try await ledger.report(UsageQuery(by: .model, from: now.addingTimeInterval(-1), to: now.addingTimeInterval(1), nodeID: "a")).rows
        #expect(byModel.map(\.key).sorted() == ["big", "fleet-default"])
        #expect(byModel.reduce(0) { $0 + $1.calls } == 100)

        let spend = try await ledger.nodeSpend(today: now, nodeIDs: nil)
        #expect(spend["a"] == NodeSpend(todayNanos: 100_000, monthNanos: 100_005))
        #expect(spend["b"] == NodeSpend(todayNanos: 100_000, monthNanos: 100_000))
    }

    /// Reports read whole UTC days from the roll-up and the partial days from the records; the
    /// sums equal those of the records themselves for every cut of the range.
    @Test func reportsMatchTheRecordsForEveryCutOfTheRange() async throws {
        let fixture = try StoreFixture()
        let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: Logger(label: "test"))
        let midnight = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29T00:00:00Z
        let start = midnight.addingTimeInterval(-3 * 86_400 + 3_600)
        try await withLedgerRunning(ledger) {
            for index in 0..<300 {  // one call every 1,234.5 s: a little over 4 days
                var record = Self.record(["a", "b", "c"][index % 3], model: index % 5 == 0 ? "big" : "fleet-default",
                                         at: start.addingTimeInterval(Double(index) * 1_234.5), cost: Int64(index),
                                         outcome: [.ok, .ok, .refused, .upstreamError, .clientCancelled][index % 5], id: "r\(index)")
                record.group = index % 2 == 0 ? "edge" : "lab"
                try await ledger.record(record)
            }
        }
        let records = try fixture.sqlite.read { db in try Row.fetchAll(db, sql: "SELECT * FROM usage").map(UsageRecord.init(row:)) }
        let ranges: [(Double, Double)] = [
            (-4 * 86_400, 2 * 86_400),                  // everything, partial days at both ends
            (-2 * 86_400, 0),                           // two whole days
            (-2 * 86_400 - 1, 1),                       // two whole days and a second on each side
            (-86_400 + 7_200, -3_600),                  // within one day
            (-3_600, 3_600),                            // across one midnight, no whole day
            (-3 * 86_400 + 5_000, 86_400 + 100),        // partial, three whole days, partial
            (0, 0),                                     // empty
        ]
        for (from, to) in ranges {
            for by in UsageGrouping.allCases {
                let query = UsageQuery(by: by, from: midnight.addingTimeInterval(from), to: midnight.addingTimeInterval(to),
                                       nodeID: by == .model ? "a" : nil, group: by == .provider ? "edge" : nil)
                var expected: [String: UsageAggregate] = [:]
                for r in records where r.at >= query.from && r.at < query.to && (query.nodeID ?? r.nodeID) == r.nodeID
                    && (query.group ?? r.group) == r.group {
                    let key = switch by {
                    case .node: r.nodeID
                    case .group: r.group
                    case .model: r.model
                    case .provider: r.provider
                    }
                    var sum = expected[key] ?? UsageAggregate(key: key)
                    sum.calls += 1
                    sum.refused += r.outcome == .refused ? 1 : 0
                    sum.failed += r.outcome == .upstreamError || r.outcome == .clientCancelled ? 1 : 0
                    sum.inputTokens += r.usage.input
                    sum.outputTokens += r.usage.output
                    sum.cachedTokens += r.usage.cached
                    sum.costNanos += r.costNanos
                    expected[key] = sum
                }
                let report = try await ledger.report(query).rows
                #expect(report == expected.values.sorted { ($0.costNanos, $0.calls, $1.key) > ($1.costNanos, $1.calls, $0.key) },
                        "\(by) over \(from)...\(to)")
            }
        }
        #expect(records.count == 300)
    }

    @Test func rangesAreCutAtUTCMidnights() {
        let midnight = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29T00:00:00Z
        func at(_ seconds: Double) -> Date { midnight.addingTimeInterval(seconds) }
        let partial = UsageRangeSplit(from: at(-100), to: at(2 * 86_400 + 50))
        #expect(partial.records == [.init(from: at(-100), to: at(0)), .init(from: at(2 * 86_400), to: at(2 * 86_400 + 50))])
        #expect(partial.days?.first == "2026-11-29" && partial.days?.afterLast == "2026-12-01")
        let whole = UsageRangeSplit(from: at(0), to: at(86_400))
        #expect(whole.records.isEmpty && whole.days?.first == "2026-11-29" && whole.days?.afterLast == "2026-11-30")
        let noWholeDay = UsageRangeSplit(from: at(-100), to: at(100))
        #expect(noWholeDay.records == [.init(from: at(-100), to: at(100))] && noWholeDay.days == nil)
        #expect(UsageRangeSplit(from: at(5), to: at(5)).records.isEmpty && UsageRangeSplit(from: at(5), to: at(1)).days == nil)
    }

    @Test(arguments: [
        (0.0, "1970-01-01", 0.0), (1_796_000_000, "2026-11-30", 1_793_491_200), (951_782_400, "2000-02-29", 949_363_200),
        (4_107_542_399, "2100-02-28", 4_105_123_200), (-86_400, "1969-12-31", -2_678_400), (253_402_300_799, "9999-12-31", 253_399_622_400),
    ])
    func utcCalendarDays(seconds: Double, day: String, monthStart: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(UTCCalendar.day(date) == day)
        #expect(UTCCalendar.startOfMonth(date).timeIntervalSince1970 == monthStart)
    }
}
