import FlotillaProtocol
import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

@testable import FlotillaCoordinator

/// A failure inside the coordinator (here SQLite's, from a table that vanished) reaches the
/// caller as `internal` with a request id, never with SQLite's text or a path; the log has both.
@Suite struct InternalErrorTests {
    @Test(arguments: Backend.available)
    func internalFailuresShowARequestIDAndNoInternalText(_ backend: Backend) async throws {
        try await GatewayTestbed.with(backend: backend) { bed in
            if let postgres = bed.services.store as? PostgresStore {
                try await postgres.database.execute("DROP TABLE enrollment_tokens CASCADE")
            } else {
                try await bed.sqlite.pool.write { db in try db.execute(sql: "DROP TABLE enrollment_tokens") }
            }
            let body = #"{"token":"flt_x","name":"board-1","csr_pem":"x","agent_version":"t","arch":"x86_64"}"#
            let node = try await bed.client.execute(uri: "/v1/enroll", method: .post, headers: [.contentType: "application/json"],
                                                    body: ByteBuffer(string: body))
            let admin = try await bed.client.execute(uri: "/admin/v1/tokens", method: .get, headers: [.authorization: "Bearer admin"])
            for response in [node, admin] {
                let text = String(buffer: response.body)
                #expect(response.status == .internalServerError)
                let error = try JSONDecoder().decode(ErrorBody.self, from: Data(text.utf8)).error
                #expect(error.code == "internal")
                let id = try #require(response.headers[HTTPField.Name("x-request-id")!])
                #expect(error.message.contains("request id \(id)"))
                for leak in ["enrollment_tokens", "SQL", "no such table", "relation", "42P01", "/tmp", ".sqlite", "postgres"] {
                    #expect(!text.contains(leak), "\(leak) leaked: \(text)")
                }
            }
        }
    }
}
