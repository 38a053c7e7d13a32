import Crypto
import FlotillaProtocol
import Foundation
import Synchronization

/// The fleet's trust chain on the coordinator: the root key (online unless exported), the online
/// signing key, and every root document, the newest of which certifies the signing key.
///
/// First start creates a root key, a signing key and root document version 1. Rotations append a
/// root document signed by the old root and, for a new root, by the new one too, so enrolled
/// nodes follow without re-provisioning.
///
/// The keys live in the data directory (0600) and, sealed with the master key, in the store
/// beside the root document that certifies them: a coordinator sharing the database picks up a
/// rotation made by another one (`reload`), and the database alone still opens nothing.
final class TrustRoot: Sendable {
    private struct State {
        var rootKey: SigningKey?
        var signingKey: SigningKey
        var documents: [Data]
        var current: RootDocument
    }

    /// Store settings holding the sealed keys.
    static let sealedSigningKey = "trust_signing_key_sealed"
    static let sealedRootKey = "trust_root_key_sealed"

    private let directory: DataDirectory
    private let store: any FleetStore
    private let masterKey: MasterKey
    private let bus: any ClusterBus
    private let state: Mutex<State>
    /// Whether a rotation is under way here (a second one is refused until it ends).
    private let rotating = Mutex(false)

    private init(directory: DataDirectory, store: any FleetStore, masterKey: MasterKey, bus: any ClusterBus, state: State) {
        self.directory = directory
        self.store = store
        self.masterKey = masterKey
        self.bus = bus
        self.state = Mutex(state)
    }

    /// Loads the trust chain, creating it on a fleet's first start.
    static func open(directory: DataDirectory, store: any FleetStore, masterKey: MasterKey, bus: any ClusterBus = LocalClusterBus(),
                     now: Date = Date()) async throws(CoordinatorError) -> TrustRoot {
        if try await store.rootDocuments().isEmpty {
            let root = SecureFile.exists(directory.rootKey) ? try SigningKey.load(directory.rootKey) : SigningKey()
            let signing = SigningKey()
            let document = RootDocument(version: 1, createdAt: Timestamps.rfc3339(now), rootKey: root.publicKeyBase64,
                                        signingKeys: [signing.publicKeyBase64])
            let envelope = try Envelope.seal(document, keys: [root])
            do {
                try await store.appendRootDocument(version: 1, envelope: envelope, now: now,
                                                   sealedKeys: [sealedSigningKey: try seal(signing, masterKey), sealedRootKey: try seal(root, masterKey)])
                try root.write(to: directory.rootKey)
                try signing.write(to: directory.signingKey)
                return TrustRoot(directory: directory, store: store, masterKey: masterKey, bus: bus,
                                 state: State(rootKey: root, signingKey: signing, documents: [envelope], current: document))
            } catch where error.code == .conflict {
                // Another coordinator sharing the database created the chain first: use its.
            }
        }
        let state = try await load(directory: directory, store: store, masterKey: masterKey)
        let trust = TrustRoot(directory: directory, store: store, masterKey: masterKey, bus: bus, state: state)
        try await trust.storeSealedCopies()
        return trust
    }

    /// The chain as stored, with the keys it certifies: the data directory's, or the sealed copies
    /// in the store when another coordinator rotated them (then written to the data directory).
    private static func load(directory: DataDirectory, store: any FleetStore, masterKey: MasterKey) async throws(CoordinatorError) -> State {
        let documents = try await store.rootDocuments()
        guard let last = documents.last else { throw .internal("the fleet has no root document") }
        let current = try decodePayload(last)
        let staged = directory.signingKey + ".new"
        if SecureFile.exists(staged) {
            // A rotation crashed after committing or before: adopt the staged key only if the
            // current root document certifies it.
            if let candidate = try? SigningKey.load(staged), current.signingKeys.contains(candidate.publicKeyBase64) {
                try? FileManager.default.removeItem(atPath: directory.signingKey)
                try? FileManager.default.moveItem(atPath: staged, toPath: directory.signingKey)
            } else {
                try? FileManager.default.removeItem(atPath: staged)
            }
        }
        var signingKey = SecureFile.exists(directory.signingKey) ? try? SigningKey.load(directory.signingKey) : nil
        if signingKey.map({ current.signingKeys.contains($0.publicKeyBase64) }) != true,
            let shared = try await sealedKey(sealedSigningKey, store: store, masterKey: masterKey),
            current.signingKeys.contains(shared.publicKeyBase64) {
            try shared.write(to: directory.signingKey)
            signingKey = shared
        }
        guard let signingKey else { throw .internal("\(directory.signingKey) is missing and the store holds no signing key this master key opens") }
        guard current.signingKeys.contains(signingKey.publicKeyBase64) else {
            throw .internal("\(directory.signingKey) is not certified by root document version \(current.version)")
        }
        var rootKey = SecureFile.exists(directory.rootKey) ? try SigningKey.load(directory.rootKey) : nil
        if rootKey == nil || rootKey?.publicKeyBase64 != current.rootKey,
            let shared = try await sealedKey(sealedRootKey, store: store, masterKey: masterKey), shared.publicKeyBase64 == current.rootKey {
            try shared.write(to: directory.rootKey)
            rootKey = shared
        }
        if let rootKey, rootKey.publicKeyBase64 != current.rootKey {
            throw .internal("\(directory.rootKey) does not match root document version \(current.version)")
        }
        return State(rootKey: rootKey, signingKey: signingKey, documents: documents, current: current)
    }

    /// Puts sealed copies of the keys in use into the store when they are not there yet (a
    /// database from before they were kept there, so `migrate` and peers find them).
    private func storeSealedCopies() async throws(CoordinatorError) {
        let (signing, root) = state.withLock { ($0.signingKey, $0.rootKey) }
        if try await Self.sealedKey(Self.sealedSigningKey, store: store, masterKey: masterKey)?.publicKeyBase64 != signing.publicKeyBase64 {
            try await store.setSetting(Self.sealedSigningKey, try Self.seal(signing, masterKey))
        }
        if let root, try await Self.sealedKey(Self.sealedRootKey, store: store, masterKey: masterKey)?.publicKeyBase64 != root.publicKeyBase64 {
            try await store.setSetting(Self.sealedRootKey, try Self.seal(root, masterKey))
        }
    }

    private static func seal(_ key: SigningKey, _ masterKey: MasterKey) throws(CoordinatorError) -> [UInt8] {
        try masterKey.seal(Array(key.privateKey.rawRepresentation), context: "flotilla trust key")
    }

    private static func sealedKey(_ name: String, store: any FleetStore, masterKey: MasterKey) async throws(CoordinatorError) -> SigningKey? {
        guard let sealed = try await store.setting(name), !sealed.isEmpty,
            let raw = try? masterKey.open(sealed, context: "flotilla trust key"),
            let key = try? SigningKey.parse("ed25519:" + Data(raw).base64EncodedString(), source: name)
        else { return nil }
        return key
    }

    /// Takes the chain another coordinator extended (a rotation there): its newest document and
    /// the keys it certifies.
    func reload() async throws(CoordinatorError) {
        let known = state.withLock { $0.documents.count }
        guard try await store.rootDocuments().count != known else { return }
        let loaded = try await Self.load(directory: directory, store: store, masterKey: masterKey)
        state.withLock { $0 = loaded }
    }

    /// The root public key to pin in new provisioning bundles (the newest root).
    var rootPublicKey: String { state.withLock { $0.current.rootKey } }

    /// `GET /v1/trust` body.
    func trustResponseBody() throws(CoordinatorError) -> Data {
        let documents = state.withLock { $0.documents }
        var roots: [SignedEnvelope] = []
        for document in documents {
            guard let envelope = try? JSONDecoder().decode(SignedEnvelope.self, from: document) else {
                throw .internal("stored root document is not an envelope")
            }
            roots.append(envelope)
        }
        do { return try Envelope.payloadEncoder.encode(TrustResponse(roots: roots)) } catch { throw .internal("\(error)") }
    }

    /// Signs a release manifest with the online signing key.
    func sealRelease(_ manifest: ReleaseManifest) throws(CoordinatorError) -> Data {
        let key = state.withLock { $0.signingKey }
        return try Envelope.seal(manifest, keys: [key])
    }

    /// What `flotilla keys` shows.
    func view() -> KeysView {
        state.withLock { state in
            KeysView(
                rootVersion: state.current.version, rootKeyID: Self.keyID(state.current.rootKey),
                rootPublicKey: state.current.rootKey, rootKeyOnline: state.rootKey != nil,
                signingKeyIDs: state.current.signingKeys.map(Self.keyID)
            )
        }
    }

    /// Replaces the online signing key: a new root document (same root) certifies only the new key
    /// and, with `resetReleaseFloor`, tells nodes to forget their release floor.
    func rotateSigningKey(resetReleaseFloor: Bool = false, now: Date = Date()) async throws(CoordinatorError) -> KeysView {
        try await rotation { () async throws(CoordinatorError) in
            guard let root = state.withLock({ $0.rootKey }) else {
                throw CoordinatorError(.rootKeyOffline, "the root key is offline; run `flotilla keys rotate-signing --root-key FILE` on the machine that holds it")
            }
            try await append(rootKeys: [root], newRoot: root, rootOnline: true, signing: SigningKey(), resetReleaseFloor: resetReleaseFloor, now: now)
        }
        return view()
    }

    /// Replaces the root key (and the signing key): the new root document is signed by the old
    /// root and the new one. `oldRoot` is needed when the coordinator does not hold the root.
    func rotateRoot(oldRoot supplied: SigningKey?, keepNewRootOnline: Bool, now: Date = Date()) async throws(CoordinatorError) -> (KeysView, SigningKey) {
        let newRoot = SigningKey()
        try await rotation { () async throws(CoordinatorError) in
            let (held, currentRoot) = state.withLock { ($0.rootKey, $0.current.rootKey) }
            guard let old = supplied ?? held else {
                throw CoordinatorError(.rootKeyOffline, "the root key is offline; pass the current root key file")
            }
            guard old.publicKeyBase64 == currentRoot else {
                throw CoordinatorError(.invalidRequest, "that key is not the fleet's current root key")
            }
            try await append(rootKeys: [old, newRoot], newRoot: newRoot, rootOnline: keepNewRootOnline, signing: SigningKey(), now: now)
        }
        return (view(), newRoot)
    }

    /// Certifies a new signing key with a root key held off the coordinator (`--root-key FILE`).
    func rotateSigningKey(withOfflineRoot root: SigningKey, resetReleaseFloor: Bool = false, now: Date = Date()) async throws(CoordinatorError) -> KeysView {
        try await rotation { () async throws(CoordinatorError) in
            let (current, held) = state.withLock { ($0.current.rootKey, $0.rootKey) }
            guard root.publicKeyBase64 == current else {
                throw CoordinatorError(.invalidRequest, "that key is not the fleet's current root key")
            }
            try await append(rootKeys: [root], newRoot: root, rootOnline: held != nil, signing: SigningKey(),
                             resetReleaseFloor: resetReleaseFloor, now: now)
        }
        return view()
    }

    /// The root private key file's text, for export; optionally removes it from the data dir
    /// and the store.
    func exportRoot(remove: Bool) async throws(CoordinatorError) -> String {
        let root = try await rotation { () async throws(CoordinatorError) -> SigningKey in
            guard let root = state.withLock({ $0.rootKey }) else { throw CoordinatorError(.rootKeyOffline, "the root key is not on this coordinator") }
            if remove {
                try await store.setSetting(Self.sealedRootKey, [])
                do { try FileManager.default.removeItem(atPath: directory.rootKey) } catch { throw .internal("cannot remove root key: \(error)") }
                state.withLock { $0.rootKey = nil }
            }
            return root
        }
        return root.fileText
    }

    /// Runs `body` as the only rotation under way on this coordinator (a second is refused with
    /// `conflict`; one racing on another coordinator loses at the store's version check).
    private func rotation<T>(_ body: () async throws(CoordinatorError) -> T) async throws(CoordinatorError) -> T {
        let busy = rotating.withLock { busy in
            defer { busy = true }
            return busy
        }
        guard !busy else { throw CoordinatorError(.conflict, "another key change is under way; retry") }
        defer { rotating.withLock { $0 = false } }
        return try await body()
    }

    private func append(rootKeys: [SigningKey], newRoot: SigningKey, rootOnline: Bool, signing: SigningKey,
                        resetReleaseFloor: Bool = false, now: Date) async throws(CoordinatorError) {
        let version = state.withLock { $0.current.version } + 1
        let document = RootDocument(version: version, createdAt: Timestamps.rfc3339(now),
                                    rootKey: newRoot.publicKeyBase64, signingKeys: [signing.publicKeyBase64],
                                    releaseFloorReset: resetReleaseFloor ? true : nil)
        let envelope = try Envelope.seal(document, keys: rootKeys)
        // The new signing key is written before the document that certifies it is committed: a
        // crash in between leaves the old document current and the next start refuses the
        // uncertified key file loudly instead of signing with it.
        try signing.write(to: directory.signingKey + ".new")
        try await store.appendRootDocument(version: version, envelope: envelope, now: now, sealedKeys: [
            Self.sealedSigningKey: try Self.seal(signing, masterKey),
            Self.sealedRootKey: rootOnline ? try Self.seal(newRoot, masterKey) : [],
        ])
        do { try FileManager.default.removeItem(atPath: directory.signingKey) } catch {}
        do { try FileManager.default.moveItem(atPath: directory.signingKey + ".new", toPath: directory.signingKey) } catch {
            throw .internal("cannot install the new signing key: \(error)")
        }
        if rootOnline {
            try newRoot.write(to: directory.rootKey)
        } else {
            try? FileManager.default.removeItem(atPath: directory.rootKey)
        }
        state.withLock { state in
            state.documents.append(envelope)
            state.current = document
            state.signingKey = signing
            state.rootKey = rootOnline ? newRoot : nil
        }
        await bus.publish(.trust)
    }

    private static func decodePayload(_ envelope: Data) throws(CoordinatorError) -> RootDocument {
        guard let sealed = try? JSONDecoder().decode(SignedEnvelope.self, from: envelope),
            let payload = Data(base64Encoded: sealed.signed),
            let document = try? JSONDecoder().decode(RootDocument.self, from: payload)
        else { throw .internal("stored root document cannot be read") }
        return document
    }

    private static func keyID(_ base64: String) -> String {
        Data(base64Encoded: base64).map { SigningKey.keyID(publicKey: $0) } ?? "?"
    }
}
