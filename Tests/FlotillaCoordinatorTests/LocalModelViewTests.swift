import FlotillaProtocol
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import FlotillaCoordinator

/// A heartbeat's `local_model` where admins read it, through the coordinator's real router: the
/// admin API's node view (what `flotilla nodes --json` and `flotilla node show` print), the
/// dashboard's node page and its nodes table.
@Suite struct LocalModelViewTests {
    /// A dashboard session for the testbed's admin token; the `Cookie` header that presents it.
    static func signIn(_ bed: GatewayTestbed) async throws -> HTTPFields {
        let cookie = Secrets.generateToken(prefix: "flt_session_")
        let now = Date()
        try await bed.services.sessions.insert(DashboardSession(
            idHash: SessionSecrets(cookieValue: cookie).idHash, signedInWith: bed.services.credentials.adminTokenFingerprint,
            source: "test", createdAt: now, expiresAt: now.addingTimeInterval(3600)))
        return [.cookie: "\(DashboardAuthMiddleware.cookieName)=\(cookie)"]
    }

    /// The admin API's node view of `name` as raw JSON, so a null is told from a missing key.
    static func adminView(_ bed: GatewayTestbed, _ name: String) async throws -> NSDictionary {
        let response = try await bed.client.execute(uri: "/admin/v1/nodes/\(name)", method: .get, headers: [.authorization: "Bearer admin"])
        #expect(response.status == .ok)
        return try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? NSDictionary)
    }

    static func page(_ bed: GatewayTestbed, _ path: String, _ cookie: HTTPFields) async throws -> String {
        let response = try await bed.client.execute(uri: path, method: .get, headers: cookie)
        #expect(response.status == .ok, "\(path)")
        return String(buffer: response.body)
    }

    @Test(arguments: Backend.available)
    func adminViewAndDashboardShowTheLatestHeartbeatsLocalModel(_ backend: Backend) async throws {
        try await GatewayTestbed.with(backend: backend) { bed in
            let (node, _) = try await bed.addNode("board-1")
            let cookie = try await Self.signIn(bed)
            // Before any heartbeat the key is there, as null.
            #expect(try await Self.adminView(bed, "board-1")["local_model"] is NSNull)
            #expect(try await Self.page(bed, "/ui/nodes/board-1", cookie).contains(#"<dt>Local model</dt><dd id="local-model">none</dd>"#))

            var down = HeartbeatStoreTests.readings()
            down.localModel = "down"
            try await bed.services.writer.submit(nodeID: node.id, readings: down)
            #expect(try await Self.adminView(bed, "board-1")["local_model"] as? String == "down")
            let downPage = try await Self.page(bed, "/ui/nodes/board-1", cookie)
            #expect(downPage.contains(#"<dd id="local-model"><span class="local-down">not answering</span></dd>"#), "\(downPage)")
            #expect(try await Self.page(bed, "/ui/nodes", cookie).contains(#"<td><span class="local-down">not answering</span></td>"#))

            var up = HeartbeatStoreTests.readings(sequence: 2)
            up.localModel = "up"
            try await bed.services.writer.submit(nodeID: node.id, readings: up)
            #expect(try await Self.adminView(bed, "board-1")["local_model"] as? String == "up")
            #expect(try await Self.page(bed, "/ui/nodes/board-1", cookie).contains(#"<dd id="local-model"><span class="local-up">answers</span></dd>"#))

            // A heartbeat without the field: the board has no local model any more.
            try await bed.services.writer.submit(nodeID: node.id, readings: HeartbeatStoreTests.readings(sequence: 3))
            let cleared = try await Self.adminView(bed, "board-1")
            #expect(cleared["local_model"] is NSNull)
            #expect(cleared["cpu_percent"] as? Double == 12.5)
            #expect(try await Self.page(bed, "/ui/nodes/board-1", cookie).contains(#"<dd id="local-model">none</dd>"#))
            let table = try await Self.page(bed, "/ui/nodes", cookie)
            #expect(table.contains(#"<th scope="col">Local model</th>"#))
            #expect(!table.contains("local-up") && !table.contains("local-down"))
        }
    }
}
