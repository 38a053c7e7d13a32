/// The node's view of the fleet's root of trust: the root key pinned at enrollment and the
/// newest root document that chains to it. It only ever moves forward (docs/releases.md,
/// "Root documents"): version 1 must carry the pinned key and be signed by it; version n+1 must
/// be signed by version n's root key and by its own.
final class TrustChain {
    /// The root key from node.conf.
    let pinnedRootKey: [UInt8]
    /// The newest trusted root document, or nil before the first one was fetched.
    private(set) var trusted: RootDocument?
    /// Set when `advance` passed a document with `release_floor_reset` (cleared by the caller
    /// once the floor is reset).
    var crossedFloorReset = false

    /// A chain that starts from `pinnedRootKey` and, optionally, an already trusted document.
    init(pinnedRootKey: [UInt8], trusted: RootDocument? = nil) {
        self.pinnedRootKey = pinnedRootKey
        self.trusted = trusted
    }

    /// Version of the newest trusted document (0: none yet).
    var version: Int64 { trusted?.version ?? 0 }

    /// Keys allowed to sign releases now (none before a root document is trusted).
    var signingKeys: [[UInt8]] { trusted?.signingKeys ?? [] }

    /// True when `document` may follow the newest trusted one.
    func accepts(_ document: RootDocument) -> Bool {
        guard document.version == version + 1 else { return false }
        let previousRoot = trusted?.rootKey ?? pinnedRootKey
        if trusted == nil, document.rootKey != pinnedRootKey { return false }
        return document.envelope.isSigned(by: previousRoot) && document.envelope.isSigned(by: document.rootKey)
    }

    /// Walks forward through `envelopes` (any order; unparsable ones are skipped) as far as the
    /// chain holds. Returns true when the newest trusted document changed.
    func advance(_ envelopes: [JSONValue]) -> Bool {
        var candidates: [RootDocument] = []
        for json in envelopes {
            guard let envelope = try? SignedEnvelope(json: json), let document = try? RootDocument(envelope: envelope),
                  document.version > version else { continue }
            candidates.append(document)
        }
        var advanced = false
        var progress = true
        while progress {
            progress = false
            for document in candidates where accepts(document) {
                trusted = document
                if document.resetsReleaseFloor { crossedFloorReset = true }
                advanced = true
                progress = true
                break
            }
        }
        return advanced
    }

    /// Goes back to `document` (the one trusted before a walk whose result could not be stored),
    /// so the next walk crosses the same documents again and redoes what failed.
    func revert(to document: RootDocument?) {
        trusted = document
        crossedFloorReset = false
    }

    /// Parses a `GET /v1/trust` body (`{"roots": [envelope, ...]}`) and advances with it.
    func advance(trustResponse body: [UInt8]) throws(NodeError) -> Bool {
        guard let roots = try JSONParser().parse(body)["roots"]?.arrayValue else {
            throw .invalidField("trust response lacks \"roots\"")
        }
        return advance(roots)
    }
}
