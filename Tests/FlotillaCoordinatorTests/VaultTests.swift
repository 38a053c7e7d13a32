import Foundation
import GRDB
import Testing

@testable import FlotillaCoordinator

/// Provider keys at rest: sealed with a master key that is never in the database, bound to their
/// provider, unreadable from a copied database file.
@Suite struct VaultTests {
    @Test func masterKeyFileIsCreated0600AndReused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("master.key")
        let (first, created) = try MasterKey.load(path: path, environment: [:])
        #expect(created)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let (again, createdAgain) = try MasterKey.load(path: path, environment: [:])
        #expect(!createdAgain)
        #expect(again.base64 == first.base64)
    }

    @Test func environmentKeyWinsAndNoFileIsWritten() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = Data(repeating: 7, count: 32).base64EncodedString()
        let (key, created) = try MasterKey.load(path: directory.file("master.key"), environment: ["FLOTILLA_MASTER_KEY": text])
        #expect(!created)
        #expect(key.base64 == text)
        #expect(!FileManager.default.fileExists(atPath: directory.file("master.key")))
        #expect(throws: CoordinatorError.self) {
            try MasterKey.load(path: directory.file("master.key"), environment: ["FLOTILLA_MASTER_KEY": "too-short"])
        }
    }

    @Test func sealedValuesOpenOnlyWithTheirKeyAndContext() throws {
        let key = MasterKey.generate()
        let sealed = try key.seal(Array("sk-secret".utf8), context: "a")
        #expect(try key.open(sealed, context: "a") == Array("sk-secret".utf8))
        #expect(throws: CoordinatorError.self) { try key.open(sealed, context: "b") }
        #expect(throws: CoordinatorError.self) { try MasterKey.generate().open(sealed, context: "a") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: CoordinatorError.self) { try key.open(tampered, context: "a") }
        // Two seals of one value differ (random nonce).
        #expect(try key.seal(Array("sk-secret".utf8), context: "a") != sealed)
    }

    @Test func vaultStoresListsReplacesAndDeletes() async throws {
        let fixture = try StoreFixture()
        let vault = try await SealingVault.open(rows: SQLiteSealedSecrets(store: fixture.sqlite), settings: fixture.store, masterKey: MasterKey.generate())
        #expect(try await vault.secret(provider: "openai") == nil)
        try await vault.setSecret(provider: "openai", value: "sk-one", now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await vault.secret(provider: "openai") == "sk-one")
        try await vault.setSecret(provider: "openai", value: "sk-two", now: Date(timeIntervalSince1970: 1_800_000_100))
        #expect(try await vault.secret(provider: "openai") == "sk-two")
        #expect(try await vault.listSecrets() == [StoredSecret(provider: "openai", setAt: Date(timeIntervalSince1970: 1_800_000_100))])
        #expect(try await vault.deleteSecret(provider: "openai"))
        #expect(try await !vault.deleteSecret(provider: "openai"))
        #expect(try await vault.secret(provider: "openai") == nil)
    }

    @Test func aCopiedDatabaseRevealsNoKeyAndAnotherMasterKeyCannotOpenIt() async throws {
        let fixture = try StoreFixture()
        let master = MasterKey.generate()
        let vault = try await SealingVault.open(rows: SQLiteSealedSecrets(store: fixture.sqlite), settings: fixture.store, masterKey: master)
        let secret = "sk-proj-VeryRecognisableSecretValue1234567890"
        try await vault.setSecret(provider: "openai", value: secret, now: Date())
        try await fixture.sqlite.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }

        let copy = fixture.directory.file("copy.sqlite")
        try FileManager.default.copyItem(atPath: fixture.directory.file("flotilla.sqlite"), toPath: copy)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        #expect(bytes.range(of: Data(secret.utf8)) == nil)
        #expect(bytes.range(of: Data("VeryRecognisable".utf8)) == nil)

        let copied = try SQLiteStore(path: copy)
        await #expect(throws: CoordinatorError.self) { try await SealingVault.open(rows: SQLiteSealedSecrets(store: copied), settings: copied, masterKey: MasterKey.generate()) }
        // With the right master key the copy opens (the key file is what protects the vault).
        #expect(try await SealingVault.open(rows: SQLiteSealedSecrets(store: copied), settings: copied, masterKey: master).secret(provider: "openai") == secret)
    }

    @Test func aSealedKeyMovedToAnotherProviderDoesNotOpen() async throws {
        let fixture = try StoreFixture()
        let master = MasterKey.generate()
        let vault = try await SealingVault.open(rows: SQLiteSealedSecrets(store: fixture.sqlite), settings: fixture.store, masterKey: master)
        try await vault.setSecret(provider: "openai", value: "sk-openai", now: Date())
        try await fixture.sqlite.pool.write { db in
            try db.execute(sql: "INSERT INTO provider_secrets (provider, sealed, set_at) SELECT 'other', sealed, set_at FROM provider_secrets")
        }
        let reopened = try await SealingVault.open(rows: SQLiteSealedSecrets(store: fixture.sqlite), settings: fixture.store, masterKey: master)
        await #expect(throws: CoordinatorError.self) { try await reopened.secret(provider: "other") }
        #expect(try await reopened.secret(provider: "openai") == "sk-openai")
    }
}
