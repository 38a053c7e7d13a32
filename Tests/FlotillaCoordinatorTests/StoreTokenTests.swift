import FlotillaProtocol
import Foundation
import GRDB
import Testing

@testable import FlotillaCoordinator

@Suite struct StoreTokenTests {
    @Test(arguments: Backend.available)
    func tokenWithTwoUsesEnrollsTwoNodesThenIsExhausted(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(group: "kitchen", uses: 2)

            let first = try await fixture.enroll(secret: token.secret, name: "board-01")
            let second = try await fixture.enroll(secret: token.secret, name: "board-02")
            #expect(first.group == "kitchen")
            #expect(first.adminState == .active)
            #expect(second.name == "board-02")
            #expect(first.id != second.id)

            await expectCoordinatorError(.tokenExhausted) { try await fixture.enroll(secret: token.secret, name: "board-03") }
            #expect(try await fixture.nodeCount() == 2)
            #expect(try await fixture.store.node(named: "board-03") == nil)
            let stored = try #require(try await fixture.store.tokens().first { $0.id == token.id })
            #expect(stored.usesLeft == 0)
        }
    }

    @Test(arguments: Backend.available)
    func enrolledNodeIsStoredWithTokenGroupAndCertificateExpiry(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            let token = try await fixture.addToken(group: "lab", createdAt: now.addingTimeInterval(-60), expiresAt: now.addingTimeInterval(60))
            let node = try await fixture.enroll(secret: token.secret, name: "pi-4", now: now)
            let stored = try #require(try await fixture.store.node(named: "pi-4"))
            #expect(stored == node)
            #expect(stored.group == "lab")
            #expect(stored.enrolledAt == now)
            #expect(stored.certificateExpiresAt == now.addingTimeInterval(30 * 86_400))
        }
    }

    @Test(arguments: Backend.available)
    func expiredTokenIsRefused(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(
                uses: 5, createdAt: Date().addingTimeInterval(-7200), expiresAt: Date().addingTimeInterval(-60)
            )
            await expectCoordinatorError(.tokenExpired) { try await fixture.enroll(secret: token.secret, name: "board-01") }
            #expect(try await fixture.nodeCount() == 0)
        }
    }

    @Test(arguments: Backend.available)
    func tokenExpiresExactlyAtItsExpiry(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let expiry = Date(timeIntervalSince1970: 1_800_000_000)
            let token = try await fixture.addToken(createdAt: expiry.addingTimeInterval(-3600), expiresAt: expiry)
            await expectCoordinatorError(.tokenExpired) { try await fixture.enroll(secret: token.secret, name: "board-01", now: expiry) }
            #expect(try await fixture.enroll(secret: token.secret, name: "board-01", now: expiry.addingTimeInterval(-1)).name == "board-01")
        }
    }

    @Test(arguments: Backend.available)
    func revokedTokenIsRefused(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(uses: 3)
            try await fixture.enroll(secret: token.secret, name: "board-01")
            try await fixture.store.revokeToken(id: token.id, at: Date())
            await expectCoordinatorError(.tokenRevoked) { try await fixture.enroll(secret: token.secret, name: "board-02") }
            #expect(try await fixture.nodeCount() == 1)
            // Revoking twice is not an error and keeps the token revoked.
            try await fixture.store.revokeToken(id: token.id, at: Date())
            let stored = try #require(try await fixture.store.tokens().first { $0.id == token.id })
            #expect(stored.info.state == .revoked)
            #expect(stored.usesLeft == 2)
        }
    }

    @Test(arguments: Backend.available)
    func unknownTokenIsRefused(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.addToken()
            await expectCoordinatorError(.tokenInvalid) { try await fixture.enroll(secret: Secrets.generateToken(), name: "board-01") }
            #expect(try await fixture.nodeCount() == 0)
        }
    }

    @Test(arguments: Backend.available)
    func takenNameIsRefusedAndNothingIsStored(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.addNode(name: "board-01")
            let token = try await fixture.addToken(uses: 3)

            await expectCoordinatorError(.nameTaken) { try await fixture.enroll(secret: token.secret, name: "board-01") }

            #expect(try await fixture.nodeCount() == 1)
            let stored = try #require(try await fixture.store.tokens().first { $0.id == token.id })
            #expect(stored.usesLeft == 3)
            // The token still works for a free name.
            #expect(try await fixture.enroll(secret: token.secret, name: "board-02").name == "board-02")
        }
    }

    @Test(arguments: Backend.available)
    func failingIssuanceRollsBackTheUse(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(uses: 1)
            var issued = 0
            await expectCoordinatorError(.invalidRequest) {
                _ = try await fixture.store.enroll(
                    tokenHash: Secrets.hash(token.secret), name: "board-01", nodeID: "n1", now: Date(), gatewayKey: nil
                ) { (_: String) throws(CoordinatorError) -> IssuedCertificate in
                    issued += 1
                    throw CoordinatorError(.invalidRequest, "the CSR's signature does not verify")
                }
            }
            #expect(issued == 1)
            #expect(try await fixture.nodeCount() == 0)
            let stored = try #require(try await fixture.store.tokens().first { $0.id == token.id })
            #expect(stored.usesLeft == 1)
            // The single use is still available.
            #expect(try await fixture.enroll(secret: token.secret, name: "board-01").name == "board-01")
        }
    }

    @Test(arguments: Backend.available)
    func requireApprovalGivesPendingNode(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(requireApproval: true)
            let node = try await fixture.enroll(secret: token.secret, name: "board-01")
            #expect(node.adminState == .pending)
            #expect(try await fixture.store.node(named: "board-01")?.adminState == .pending)
        }
    }

    @Test(arguments: Backend.available)
    func tokensReportStateAndUsesLeft(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let base = Date()
            let usable = try await fixture.addToken(id: "usable", uses: 3, createdAt: base.addingTimeInterval(-40))
            let exhausted = try await fixture.addToken(id: "exhausted", uses: 1, createdAt: base.addingTimeInterval(-30))
            try await fixture.addToken(
                id: "expired", uses: 2, createdAt: base.addingTimeInterval(-20), expiresAt: base.addingTimeInterval(-10)
            )
            try await fixture.addToken(id: "revoked", uses: 2, createdAt: base.addingTimeInterval(-10))
            try await fixture.enroll(secret: usable.secret, name: "a1")
            try await fixture.enroll(secret: exhausted.secret, name: "b1")
            try await fixture.store.revokeToken(id: "revoked", at: base)

            let tokens = try await fixture.store.tokens()
            // Newest first.
            #expect(tokens.map(\.id) == ["revoked", "expired", "exhausted", "usable"])
            let info = Dictionary(uniqueKeysWithValues: tokens.map { ($0.id, $0.info) })
            #expect(info["usable"]?.state == .usable)
            #expect(info["usable"]?.usesLeft == 2)
            #expect(info["usable"]?.uses == 3)
            #expect(info["exhausted"]?.state == .exhausted)
            #expect(info["exhausted"]?.usesLeft == 0)
            #expect(info["expired"]?.state == .expired)
            #expect(info["expired"]?.usesLeft == 2)
            #expect(info["revoked"]?.state == .revoked)
            #expect(info["usable"]?.group == "edge")
        }
    }

    @Test(arguments: Backend.available)
    func revokedWinsOverExpiredAndExhausted(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            let token = try await fixture.addToken(uses: 1, expiresAt: Date().addingTimeInterval(60))
            try await fixture.enroll(secret: token.secret, name: "a1")
            try await fixture.store.revokeToken(id: token.id, at: Date())
            let stored = try #require(try await fixture.store.tokens().first)
            #expect(stored.state(at: Date().addingTimeInterval(3600)) == .revoked)
            await expectCoordinatorError(.tokenRevoked) { try await fixture.enroll(secret: token.secret, name: "a2") }
        }
    }

    @Test(arguments: Backend.available)
    func revokingUnknownTokenIsNotFound(_ backend: Backend) async throws {
        try await StoreFixture.with(backend) { fixture in
            try await fixture.addToken(id: "known")
            await expectCoordinatorError(.notFound) { try await fixture.store.revokeToken(id: "missing", at: Date()) }
            #expect(try await fixture.store.tokens().first?.revokedAt == nil)
        }
    }

    @Test func onlyTheHashIsStored() async throws {
        let fixture = try StoreFixture()
        let token = try await fixture.addToken()
        let raw = try fixture.sqlite.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM enrollment_tokens")
        }
        #expect(raw.count == 1)
        let hash = try #require(raw.first?["token_hash"] as Data?)
        #expect(Array(hash) == Secrets.hash(token.secret))
        let dump = raw.description
        #expect(!dump.contains(token.secret))
    }
}
