import FlotillaProtocol
import Foundation
import GRDB
import Logging
import NIOFoundationCompat
import NIOCore
import HummingbirdTesting
import HTTPTypes
import Testing

@testable import FlotillaCoordinator

/// `serve --usage-retention`: per-call records of old UTC days are deleted, their days' roll-up
/// stays, and reports over those days read them whole from it.
@Suite struct UsageRetentionTests {
    static let midnight = Date(timeIntervalSince1970: 1_795_910_400)  // 2026-11-29T00:00:00Z

    @Test func prunedDaysAreReportedWholeFromTheRollUp() async throws {
        let fixture = try StoreFixture()
        let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: Logger(label: "test"))
        let start = Self.midnight.addingTimeInterval(-4 * 86_400 + 1_800)
        // 3,000 calls over a little more than four days: more than one pruning batch goes.
        try await withLedgerRunning(ledger) {
            try await withThrowingTaskGroup(of: Void.self) { calls in
                for index in 0..<3_000 {
                    calls.addTask {
                        try await ledger.record(GatewayStateTests.record(["a", "b"][index % 2], at: start.addingTimeInterval(Double(index) * 120),
                                                                        cost: Int64(index), id: "r\(index)"))
                    }
                }
                try await calls.waitForAll()
            }
        }
        let records = try fixture.sqlite.read { db in try Row.fetchAll(db, sql: "SELECT * FROM usage").map(UsageRecord.init(row:)) }
        let query = UsageQuery(by: .node, from: Self.midnight.addingTimeInterval(-3 * 86_400 + 7_200), to: Self.midnight.addingTimeInterval(3_600))
        let unpruned = try await ledger.report(query)
        #expect(unpruned.range.from == query.from && unpruned.range.to == query.to, "nothing pruned: the range as asked")
        #expect(try await ledger.recordsKeptFrom() == nil)

        // Retention reaches into 2026-11-28: the records of the days before it go.
        let keptFrom = Self.midnight.addingTimeInterval(-86_400)
        let removed = try await ledger.pruneRecords(before: keptFrom.addingTimeInterval(5_000))
        #expect(removed == records.filter { $0.at < keptFrom }.count)
        #expect(removed > 2_000)
        #expect(try fixture.sqlite.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage WHERE at < ?", arguments: [keptFrom.timeIntervalSince1970]) } == 0)
        #expect(try await ledger.recordsKeptFrom() == keptFrom)

        // The range's start (2026-11-26 02:00) is in a pruned day: the report covers that day whole.
        let pruned = try await ledger.report(query)
        #expect(pruned.range.from == Self.midnight.addingTimeInterval(-3 * 86_400))
        #expect(pruned.range.to == query.to)
        let expected = Dictionary(grouping: records.filter { $0.at >= pruned.range.from && $0.at < query.to }, by: \.nodeID)
            .mapValues { $0.reduce(Int64(0)) { $0 + $1.costNanos } }
        #expect(Dictionary(uniqueKeysWithValues: pruned.rows.map { ($0.key, $0.costNanos) }) == expected)
        #expect(pruned.rows.reduce(0) { $0 + $1.calls } == records.filter { $0.at >= pruned.range.from && $0.at < query.to }.count)

        // A later, shorter pass never moves the boundary back.
        #expect(try await ledger.pruneRecords(before: keptFrom.addingTimeInterval(-86_400)) == 0)
        #expect(try await ledger.recordsKeptFrom() == keptFrom)
    }

    /// Through the admin API: the report says which range it covers, and a range that is not
    /// one is refused.
    @Test func theAdminReportShowsTheWidenedRangeAndRefusesAnInvertedOne() async throws {
        try await GatewayTestbed.with { bed in
            let (node, _) = try await bed.addNode("board-01")
            let now = Date()
            for (index, daysAgo) in [3.5, 3.4, 0.0].enumerated() {
                try await bed.services.ledger.record(GatewayStateTests.record(node.id, at: now.addingTimeInterval(-daysAgo * 86_400), cost: 1_000,
                                                                             id: "r\(index)"))
            }
            let keptFrom = UTCCalendar.startOfDay(now.addingTimeInterval(-2 * 86_400))
            #expect(try await bed.services.ledger.pruneRecords(before: keptFrom) == 2)
            let from = now.addingTimeInterval(-3.45 * 86_400)
            let path = "/admin/v1/usage?by=node&from=\(Timestamps.rfc3339(from))&to=\(Timestamps.rfc3339(now.addingTimeInterval(1)))"
            let response = try await bed.client.execute(uri: path, method: .get, headers: [.authorization: "Bearer admin"])
            #expect(response.status == .ok)
            let report = try JSONDecoder().decode(UsageReport.self, from: Data(buffer: response.body))
            #expect(report.from == Timestamps.rfc3339(UTCCalendar.startOfDay(from)), "the pruned day is covered whole")
            // Both pruned calls may share the widened day or not; the roll-up counts whichever is in it.
            let inRange = [3.5, 3.4].filter { now.addingTimeInterval(-$0 * 86_400) >= UTCCalendar.startOfDay(from) }.count + 1
            #expect(report.total.calls == inRange)
            #expect(report.rows.first?.key == "board-01")

            let inverted = "/admin/v1/usage?from=\(Timestamps.rfc3339(now))&to=\(Timestamps.rfc3339(now.addingTimeInterval(-60)))"
            let refused = try await bed.client.execute(uri: inverted, method: .get, headers: [.authorization: "Bearer admin"])
            #expect(refused.status == .badRequest)
            #expect(String(buffer: refused.body).contains("invalid_request"))
        }
    }

    @Test func onlyEndsBeforeTheKeptRecordsAreWidened() {
        func at(_ seconds: Double) -> Date { Self.midnight.addingTimeInterval(seconds) }
        let query = UsageQuery(by: .model, from: at(-86_400 - 100), to: at(-50), nodeID: "n", group: "g")
        #expect(query.widened(keptFrom: nil).from == query.from)
        let both = query.widened(keptFrom: at(0))
        #expect(both.from == at(-2 * 86_400) && both.to == at(0) && both.nodeID == "n" && both.group == "g")
        let start = query.widened(keptFrom: at(-86_400))
        #expect(start.from == at(-2 * 86_400) && start.to == at(-50))
        #expect(query.widened(keptFrom: at(-2 * 86_400)).from == query.from)
        let midnights = UsageQuery(by: .node, from: at(-2 * 86_400), to: at(-86_400)).widened(keptFrom: at(0))
        #expect(midnights.from == at(-2 * 86_400) && midnights.to == at(-86_400))
    }

    @Test func theServicePrunesWhatItsRetentionLeavesBehind() async throws {
        let fixture = try StoreFixture()
        let ledger = try SQLiteUsageLedger(store: fixture.sqlite, logger: Logger(label: "test"))
        try await withLedgerRunning(ledger) {
            for (index, daysAgo) in [40.5, 30.2, 29.9, 1.0].enumerated() {
                try await ledger.record(GatewayStateTests.record("a", at: Self.midnight.addingTimeInterval(-daysAgo * 86_400), cost: 1, id: "r\(index)"))
            }
        }
        let service = UsageRetentionService(ledger: ledger, retention: 30 * 86_400, logger: Logger(label: "test"),
                                            clock: { Self.midnight.addingTimeInterval(3_600) })
        await service.pruneOnce()
        // Today is 2026-11-29: records before 2026-10-30 00:00 go; 29.9 days ago is 2026-10-30.
        #expect(try fixture.sqlite.read { db in try String.fetchAll(db, sql: "SELECT request_id FROM usage ORDER BY at") } == ["r2", "r3"])
        #expect(try fixture.sqlite.read { db in try Int.fetchOne(db, sql: "SELECT SUM(calls) FROM usage_daily") } == 4, "the roll-up keeps every day")
    }
}
