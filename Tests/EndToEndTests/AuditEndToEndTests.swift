import Foundation
import FlotillaProtocol
import GRDB
import Testing

extension EndToEnd {
/// The audit log through the real CLI against a real coordinator: admin actions are recorded
/// with actor and source, `audit verify` passes untouched and names the entry edited in SQLite.
@Suite struct AuditEndToEndTests {
    @Test func adminActionsAreRecordedAndAnEditedRowIsNamed() async throws {
        try await TestFleet.with { fleet in
            let bundle = try fleet.provision(group: "edge", extra: ["--uses", "2"])
            let tokens = try fleet.cli(["token", "list", "--json"])
            #expect(tokens.status == 0)
            let listed = try JSONDecoder().decode([TokenInfo].self, from: Data(tokens.stdout.utf8))
            let id = try #require(listed.first?.id)
            #expect(try fleet.cli(["token", "revoke", id]).status == 0)

            let list = try fleet.cli(["audit", "--json"])
            #expect(list.status == 0, "\(list.stderr)")
            let entries = try JSONDecoder().decode([AuditEntryView].self, from: Data(list.stdout.utf8))
            #expect(entries.map(\.action) == ["token.create", "token.revoke"])
            #expect(entries.first?.details["group"] == "edge")
            #expect(entries.first?.details["uses"] == "2")
            #expect(entries.allSatisfy { $0.actor.hasPrefix("cli:admin-token/") && $0.source == "127.0.0.1" })
            // No secret in an entry: the enrollment token's value appears nowhere.
            let conf = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle + "/node.conf"))) as? [String: Any]
            let tokenValue = try #require(conf?["token"] as? String)
            #expect(!tokenValue.isEmpty && !list.stdout.contains(tokenValue))

            let table = try fleet.cli(["audit", "--since", "1h"])
            #expect(table.status == 0 && table.stdout.contains("token.revoke") && table.stdout.contains("group=edge"))

            let intact = try fleet.cli(["audit", "verify"])
            #expect(intact.status == 0 && intact.stdout.contains("intact: 2 entries"), "\(intact.stdout)")

            let database = try DatabaseQueue(path: fleet.dataDirectory + "/flotilla.sqlite")
            try await database.write { db in
                try db.execute(sql: "UPDATE audit_log SET details = '{\"group\":\"other\",\"uses\":\"2\"}' WHERE sequence = 1")
            }
            try database.close()
            let tampered = try fleet.cli(["audit", "verify"])
            #expect(tampered.status == 1)
            #expect(tampered.stdout.contains("entry #1 (token.create"), "\(tampered.stdout)")
            #expect(tampered.stdout.contains("was edited"))
        }
    }
}
}
