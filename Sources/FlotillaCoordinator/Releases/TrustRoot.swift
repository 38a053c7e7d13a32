import FlotillaProtocol
import Foundation
import Synchronization

/// The fleet's trust chain on the coordinator: the root key (online unless exported), the online
/// signing key, and every root document, the newest of which certifies the signing key.
///
/// First start creates a root key, a signing key and root document version 1. Rotations append a
/// root document signed by the old root and, for a new root, by the new one too, so enrolled
/// nodes follow without re-provisioning.
final class TrustRoot: Sendable {
    private struct State {
        var rootKey: SigningKey?
        var signingKey: SigningKey
        var documents: [Data]
        var current: RootDocument
    }

    private let directory: DataDirectory
    private let store: Store
    private let state: Mutex<State>

    init(directory: DataDirectory, store: Store, now: Date = Date()) throws(CoordinatorError) {
        self.directory = directory
        self.store = store
        var documents = try store.rootDocuments()
        let rootKey = SecureFile.exists(directory.rootKey) ? try SigningKey.load(directory.rootKey) : nil
        let signingKey: SigningKey
        if documents.isEmpty {
            let root = rootKey ?? SigningKey()
            let signing = SigningKey()
            let document = RootDocument(version: 1, createdAt: Timestamps.rfc3339(now), rootKey: root.publicKeyBase64,
                                        signingKeys: [signing.publicKeyBase64])
            let envelope = try Envelope.seal(document, keys: [root])
            try root.write(to: directory.rootKey)
            try signing.write(to: directory.signingKey)
            try store.appendRootDocument(version: 1, envelope: envelope, now: now)
            documents = [envelope]
            state = Mutex(State(rootKey: root, signingKey: signing, documents: documents, current: document))
            return
        }
        let current = try Self.decodePayload(documents[documents.count - 1])
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
        signingKey = try SigningKey.load(directory.signingKey)
        guard current.signingKeys.contains(signingKey.publicKeyBase64) else {
            throw .internal("\(directory.signingKey) is not certified by root document version \(current.version)")
        }
        if let rootKey, rootKey.publicKeyBase64 != current.rootKey {
            throw .internal("\(directory.rootKey) does not match root document version \(current.version)")
        }
        state = Mutex(State(rootKey: rootKey, signingKey: signingKey, documents: documents, current: current))
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
    func rotateSigningKey(resetReleaseFloor: Bool = false, now: Date = Date()) throws(CoordinatorError) -> KeysView {
        try state.withLock { (state: inout State) throws(CoordinatorError) in
            guard let root = state.rootKey else {
                throw CoordinatorError(.rootKeyOffline, "the root key is offline; run `flotilla keys rotate-signing --root-key FILE` on the machine that holds it")
            }
            let signing = SigningKey()
            try append(&state, rootKeys: [root], newRoot: root, signing: signing, resetReleaseFloor: resetReleaseFloor, now: now)
        }
        return view()
    }

    /// Replaces the root key (and the signing key): the new root document is signed by the old
    /// root and the new one. `oldRoot` is needed when the coordinator does not hold the root.
    func rotateRoot(oldRoot supplied: SigningKey?, keepNewRootOnline: Bool, now: Date = Date()) throws(CoordinatorError) -> (KeysView, SigningKey) {
        let newRoot = SigningKey()
        try state.withLock { (state: inout State) throws(CoordinatorError) in
            guard let old = supplied ?? state.rootKey else {
                throw CoordinatorError(.rootKeyOffline, "the root key is offline; pass the current root key file")
            }
            guard old.publicKeyBase64 == state.current.rootKey else {
                throw CoordinatorError(.invalidRequest, "that key is not the fleet's current root key")
            }
            try append(&state, rootKeys: [old, newRoot], newRoot: newRoot, signing: SigningKey(), now: now)
            if keepNewRootOnline {
                try newRoot.write(to: directory.rootKey)
                state.rootKey = newRoot
            } else {
                try? FileManager.default.removeItem(atPath: directory.rootKey)
                state.rootKey = nil
            }
        }
        return (view(), newRoot)
    }

    /// Certifies a new signing key with a root key held off the coordinator (`--root-key FILE`).
    func rotateSigningKey(withOfflineRoot root: SigningKey, resetReleaseFloor: Bool = false, now: Date = Date()) throws(CoordinatorError) -> KeysView {
        try state.withLock { (state: inout State) throws(CoordinatorError) in
            guard root.publicKeyBase64 == state.current.rootKey else {
                throw CoordinatorError(.invalidRequest, "that key is not the fleet's current root key")
            }
            try append(&state, rootKeys: [root], newRoot: root, signing: SigningKey(), resetReleaseFloor: resetReleaseFloor, now: now)
        }
        return view()
    }

    /// The root private key file's text, for export; optionally removes it from the data dir.
    func exportRoot(remove: Bool) throws(CoordinatorError) -> String {
        try state.withLock { (state: inout State) throws(CoordinatorError) in
            guard let root = state.rootKey else { throw CoordinatorError(.rootKeyOffline, "the root key is not on this coordinator") }
            if remove {
                do { try FileManager.default.removeItem(atPath: directory.rootKey) } catch { throw .internal("cannot remove root key: \(error)") }
                state.rootKey = nil
            }
            return root.fileText
        }
    }

    private func append(_ state: inout State, rootKeys: [SigningKey], newRoot: SigningKey, signing: SigningKey,
                        resetReleaseFloor: Bool = false, now: Date) throws(CoordinatorError) {
        let document = RootDocument(version: state.current.version + 1, createdAt: Timestamps.rfc3339(now),
                                    rootKey: newRoot.publicKeyBase64, signingKeys: [signing.publicKeyBase64],
                                    releaseFloorReset: resetReleaseFloor ? true : nil)
        let envelope = try Envelope.seal(document, keys: rootKeys)
        // The new signing key is written before the document that certifies it is committed: a
        // crash in between leaves the old document current and the next start refuses the
        // uncertified key file loudly instead of signing with it.
        try signing.write(to: directory.signingKey + ".new")
        try store.appendRootDocument(version: document.version, envelope: envelope, now: now)
        do { try FileManager.default.removeItem(atPath: directory.signingKey) } catch {}
        do { try FileManager.default.moveItem(atPath: directory.signingKey + ".new", toPath: directory.signingKey) } catch {
            throw .internal("cannot install the new signing key: \(error)")
        }
        state.documents.append(envelope)
        state.current = document
        state.signingKey = signing
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
