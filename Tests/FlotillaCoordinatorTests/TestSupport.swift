import Crypto
import FlotillaProtocol
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import SwiftASN1
import Testing
import X509

@testable import FlotillaCoordinator

/// A unique temporary directory, removed by `remove()` (call it in a `defer`).
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "flotilla-test") throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Wall-clock time rounded down to whole seconds, which is what X.509 validity dates keep.
func wholeSecondsNow() -> Date {
    Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970))
}

/// A real PKCS#10 request signed by `key`.
func makeCSR(key: Certificate.PrivateKey, commonName: String = "board-01", algorithm: Certificate.SignatureAlgorithm = .ecdsaWithSHA256)
    throws -> CertificateSigningRequest
{
    try CertificateSigningRequest(
        version: .v1,
        subject: try DistinguishedName { CommonName(commonName) },
        privateKey: key,
        attributes: CertificateSigningRequest.Attributes(),
        signatureAlgorithm: algorithm
    )
}

func pem(_ csr: CertificateSigningRequest) throws -> String {
    try csr.serializeAsPEM().pemString
}

/// The value of the first CN attribute of `name`.
func commonName(of name: DistinguishedName) -> String? {
    for rdn in name {
        for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
            if let value = String(attribute.value) { return value }
        }
    }
    return nil
}

/// Runs `body` and checks that it throws a `CoordinatorError` with `code`.
@discardableResult
func expectCoordinatorError(
    _ code: APIErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> CoordinatorError? {
    let error = await #expect(throws: CoordinatorError.self, sourceLocation: sourceLocation) { try await body() }
    #expect(error?.code == code, "expected \(code.rawValue), got \(String(describing: error))", sourceLocation: sourceLocation)
    return error
}

/// A store in a fresh temporary directory (and, on PostgreSQL, a fresh database) plus helpers
/// to create tokens and nodes. `StoreFixture()` is the embedded store alone; `with(_:_:)` opens
/// every seam of a backend and runs its services while the test runs.
final class StoreFixture: Sendable {
    let directory: TemporaryDirectory
    let store: any FleetStore
    let backend: Backend
    /// The key the fleet's sealed secrets and signing keys are sealed with.
    let masterKey: MasterKey
    /// Every seam on the backend (`with(_:_:)` only).
    let storage: CoordinatorStorage?

    /// The embedded store, for tests of its own tables.
    var sqlite: SQLiteStore { store as! SQLiteStore }

    init() throws {
        directory = try TemporaryDirectory("flotilla-store")
        store = try SQLiteStore(path: directory.file("flotilla.sqlite"))
        backend = .sqlite
        masterKey = MasterKey.generate()
        storage = nil
    }

    private init(directory: TemporaryDirectory, storage: CoordinatorStorage, masterKey: MasterKey) {
        self.directory = directory
        self.store = storage.store
        self.backend = Backend(storage.backend)
        self.masterKey = masterKey
        self.storage = storage
    }

    deinit { directory.remove() }

    /// Runs `body` with a fixture on `backend`: its storage opened and its services (group
    /// commits, the bus) running until `body` returns.
    static func with(_ backend: Backend, _ body: @Sendable (StoreFixture) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("flotilla-store")
        let masterKey = MasterKey.generate()
        var quiet = Logger(label: "test")
        quiet.logLevel = .warning
        let logger = quiet
        switch backend {
        case .sqlite:
            let store = try SQLiteStore(path: directory.file("flotilla.sqlite"))
            let storage = try CoordinatorStorage.sqlite(store: store, directory: DataDirectory(directory.path), logger: logger)
            try await running(storage.services) { try await body(StoreFixture(directory: directory, storage: storage, masterKey: masterKey)) }
        case .postgres:
            try await PostgresTestDatabase.with { database in
                let storage = try await PostgresStorage.open(database: database, directory: DataDirectory(directory.path), masterKey: masterKey,
                                                             logger: logger)
                try await running(storage.services) { try await body(StoreFixture(directory: directory, storage: storage, masterKey: masterKey)) }
            }
        }
    }

    /// Inserts a token and returns its secret.
    @discardableResult
    func addToken(
        id: String = Secrets.shortID(), group: String = "edge", uses: Int = 1, requireApproval: Bool = false,
        createdAt: Date = Date(), expiresAt: Date = Date().addingTimeInterval(3600)
    ) async throws -> (id: String, secret: String) {
        let secret = Secrets.generateToken()
        try await store.insertToken(
            TokenRecord(
                id: id, tokenHash: Secrets.hash(secret), group: group, uses: uses, requireApproval: requireApproval,
                createdAt: createdAt, expiresAt: expiresAt
            )
        )
        return (id, secret)
    }

    /// Enrolls a node with a fake certificate (the store does not look at it).
    @discardableResult
    func enroll(secret: String, name: String, now: Date = Date()) async throws(CoordinatorError) -> NodeRecord {
        let (node, _) = try await store.enroll(
            tokenHash: Secrets.hash(secret), name: name, nodeID: UUID().uuidString.lowercased(), now: now, gatewayKey: nil
        ) { (_: String) throws(CoordinatorError) -> IssuedCertificate in
            IssuedCertificate(pem: "test-certificate", expiresAt: now.addingTimeInterval(30 * 86_400))
        }
        return node
    }

    /// Creates a one-use token in `group` and enrolls `name` with it.
    @discardableResult
    func addNode(name: String, group: String = "edge", now: Date = Date()) async throws -> NodeRecord {
        let token = try await addToken(group: group)
        return try await enroll(secret: token.secret, name: name, now: now)
    }

    /// Commits heartbeats as the heartbeat writer does.
    func writeHeartbeats(_ batch: [HeartbeatEntry]) async throws {
        switch store.heartbeatCommit {
        case .blocking(let write): try write(batch)
        case .async(let write): try await write(batch)
        }
    }

    /// Records node reports as the report writer does.
    func recordReports(_ reports: [QueuedReport]) async throws {
        switch store.reportCommit {
        case .blocking(let write): try write(reports)
        case .async(let write): try await write(reports)
        }
    }

    func nodeCount() async throws -> Int {
        try await store.nodes().count
    }
}
