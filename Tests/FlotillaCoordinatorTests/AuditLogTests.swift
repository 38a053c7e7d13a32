import Foundation
import GRDB
import Testing

@testable import FlotillaCoordinator

/// The audit log's hash chain: an untouched log verifies; an edited, removed, reordered or
/// truncated one is reported naming the entry.
@Suite struct AuditLogTests {
    let fixture: StoreFixture
    let log: SQLiteAuditLog
    let actor = AuditActor(name: "cli:admin-token/0123abcd", source: "127.0.0.1")

    init() throws {
        fixture = try StoreFixture()
        log = SQLiteAuditLog(store: fixture.sqlite, headPath: fixture.directory.file("audit.head"))
    }

    /// Five entries: token.create, node.approve, rollout.pause, secret.set, rollout.resume.
    private func appendFive() async throws {
        try await log.append(AuditRecord("token.create", target: "tok1", details: ["group": "edge", "uses": "3"]), actor: actor)
        try await log.append(AuditRecord("node.approve", target: "board-01"), actor: actor)
        try await log.append(AuditRecord("rollout.pause", target: "4"), actor: actor)
        try await log.append(AuditRecord("secret.set", target: "openai"), actor: actor)
        try await log.append(AuditRecord("rollout.resume", target: "4"), actor: actor)
    }

    private func sql(_ text: String) throws {
        try fixture.sqlite.pool.write { db in try db.execute(sql: text) }
    }

    @Test func entriesAreChainedAndAnUntouchedLogVerifies() async throws {
        try await appendFive()
        let entries = try await log.entries(since: nil, limit: 100)
        #expect(entries.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(entries[0].previousHash == AuditChain.genesis)
        for index in 1..<entries.count {
            #expect(entries[index].previousHash == entries[index - 1].hash)
        }
        #expect(entries[0].detailsJSON == #"{"group":"edge","uses":"3"}"#)
        let result = try await log.verify()
        #expect(result == AuditVerification(entries: 5, problems: []))
        let head = try String(contentsOfFile: fixture.directory.file("audit.head"), encoding: .utf8)
        #expect(head == "5 \(entries[4].hash)\n")
        let mode = try FileManager.default.attributesOfItem(atPath: fixture.directory.file("audit.head"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func anEditedEntryIsNamed() async throws {
        try await appendFive()
        try sql("UPDATE audit_log SET target = 'board-99' WHERE sequence = 2")
        let result = try await log.verify()
        #expect(result.problems.count == 1)
        #expect(result.problems.first?.hasPrefix("entry #2 (node.approve") == true)
        #expect(result.problems.first?.contains("was edited") == true)
    }

    @Test func anEditWithItsHashRecomputedBreaksTheNextLink() async throws {
        try await appendFive()
        let entries = try await log.entries(since: nil, limit: 10)
        let forged = entries[2]
        let hash = AuditChain.hash(previous: forged.previousHash, at: forged.at, actor: forged.actor, source: forged.source,
                                   action: "rollout.resume", target: forged.target, details: forged.detailsJSON)
        try sql("UPDATE audit_log SET action = 'rollout.resume', hash = '\(hash)' WHERE sequence = 3")
        let result = try await log.verify()
        #expect(result.problems.count == 1)
        #expect(result.problems.first?.hasPrefix("entry #4 (secret.set) does not follow entry #3") == true)
    }

    @Test func aRemovedEntryIsNamed() async throws {
        try await appendFive()
        try sql("DELETE FROM audit_log WHERE sequence = 3")
        let result = try await log.verify()
        #expect(result.problems == ["entry #4 (secret.set) does not follow entry #2: an entry between them was removed or edited"])
    }

    @Test func reorderedEntriesAreNamed() async throws {
        try await appendFive()
        try sql("UPDATE audit_log SET sequence = 100 WHERE sequence = 2; UPDATE audit_log SET sequence = 2 WHERE sequence = 3; UPDATE audit_log SET sequence = 3 WHERE sequence = 100")
        let result = try await log.verify()
        #expect(result.problems.contains { $0.hasPrefix("entry #2 (rollout.pause) is out of order: it was written right after entry #3") })
    }

    @Test func entriesCutOffTheEndAreReportedAndNumbersAreNotReused() async throws {
        try await appendFive()
        try sql("DELETE FROM audit_log WHERE sequence >= 4")
        let result = try await log.verify()
        #expect(result.problems == ["the newest entries were removed: the coordinator last recorded entry #5, the log ends at #3"])
        let next = try await log.append(AuditRecord("node.revoke", target: "board-02"), actor: actor)
        #expect(next.sequence == 6)
        let after = try await log.verify()
        #expect(after.problems == ["entry #6 (node.revoke) does not follow entry #3: an entry between them was removed or edited"])
    }

    @Test func aMissingHeadFileIsReportedAndAHeadOneBehindIsNot() async throws {
        try await appendFive()
        let entries = try await log.entries(since: nil, limit: 10)
        // A crash between the commit and the head file leaves the head one entry behind.
        try "4 \(entries[3].hash)\n".write(toFile: fixture.directory.file("audit.head"), atomically: true, encoding: .utf8)
        #expect(try await log.verify().problems.isEmpty)
        try FileManager.default.removeItem(atPath: fixture.directory.file("audit.head"))
        #expect(try await log.verify().problems.first?.hasPrefix("audit.head, the newest entry the coordinator recorded, is missing") == true)
    }

    @Test func anEditedTimeIndexIsNamed() async throws {
        try await appendFive()
        try sql("UPDATE audit_log SET at_epoch = at_epoch - 86400 WHERE sequence = 3")
        #expect(try await log.verify().problems == ["entry #3 (rollout.pause) has a time index that does not match its time: it was edited"])
    }

    @Test func sinceFiltersByTimeAndLimitKeepsTheNewest() async throws {
        let old = Date().addingTimeInterval(-7200)
        _ = try log.appendNow(AuditRecord("token.revoke", target: "old"), actor: actor, at: old)
        try await appendFive()
        let recent = try await log.entries(since: Date().addingTimeInterval(-3600), limit: 100)
        #expect(recent.map(\.action).first == "token.create")
        #expect(recent.count == 5)
        let newest = try await log.entries(since: nil, limit: 2)
        #expect(newest.map(\.sequence) == [5, 6])
    }
}
