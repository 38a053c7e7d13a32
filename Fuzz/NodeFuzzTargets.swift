// libFuzzer targets for the node agent's parsers, compiled together with Sources/FlotillaNode by
// scripts/fuzz.sh (one binary; FLOTILLA_FUZZ_TARGET picks the target). Each target checks a
// property, not only that nothing crashes. (Foundation is used here only to build inputs; the
// agent's own sources stay without it.)
import CFlotillaCrypto
import Foundation

private let target = getenv("FLOTILLA_FUZZ_TARGET").map { String(cString: $0) } ?? "json"

/// A fixed test-only signing key, so the release target can sign what it generates and reach
/// the checks after the signature.
private let signingSeed = [UInt8](repeating: 7, count: 32)
private let signingKey: [UInt8] = {
    var key = [UInt8](repeating: 0, count: 32)
    precondition(flotilla_test_ed25519_public_key(signingSeed, &key) == 1)
    return key
}()
/// The test signing key's id, as the trust chain names keys.
private let signingKeyID = Hex.lowercase((try? SHA256.digest(signingKey)) ?? [])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case "json": fuzzJSON(bytes)
    case "release": fuzzRelease(bytes)
    case "config": fuzzConfig(bytes)
    default: fatalError("unknown FLOTILLA_FUZZ_TARGET \(target)")
    }
    return 0
}

/// Whatever parses, the writer encodes into something the parser reads back to the same text.
private func fuzzJSON(_ bytes: [UInt8]) {
    guard let value = try? JSONParser(maxBytes: 1 << 20).parse(bytes) else { return }
    let encoded = JSONWriter.encode(value)
    guard let again = try? JSONParser(maxBytes: 1 << 22).parse(encoded) else {
        fatalError("the writer produced JSON the parser refuses: \(String(decoding: encoded, as: UTF8.self))")
    }
    precondition(JSONWriter.encode(again) == encoded, "parse(encode(x)) does not encode to the same bytes")
}

/// Envelopes as they arrive (first byte even), or payloads signed with the test key (first byte
/// odd) so that the target, version, expiry, path and size checks run too. A manifest that
/// passes every check has only safe paths.
private func fuzzRelease(_ bytes: [UInt8]) {
    guard let mode = bytes.first else { return }
    let rest = Array(bytes.dropFirst())
    var body = rest
    if mode & 1 == 1 {
        var signature = [UInt8](repeating: 0, count: 64)
        guard flotilla_test_ed25519_sign(signingSeed, rest, rest.count, &signature) == 1 else { return }
        body = JSONWriter.encode(.object([
            JSONMember("signed", .string(Data(rest).base64EncodedString())),
            JSONMember("signatures", .array([.object([
                JSONMember("key_id", .string(signingKeyID)),
                JSONMember("signature", .string(Data(signature).base64EncodedString())),
            ])])),
        ]))
    }
    if let json = try? JSONParser().parse(body), let envelope = try? SignedEnvelope(json: json) {
        _ = try? RootDocument(envelope: envelope)
    }
    _ = try? TrustChain(pinnedRootKey: signingKey).advance(trustResponse: body)
    guard let (envelope, manifest) = try? ReleaseCheck.parse(body) else { return }
    let verdict = try? ReleaseCheck.verify(envelope, manifest, signingKeys: [signingKey], target: ReleaseTarget(nodeID: "n-1", group: "demo"),
                                           installedVersion: 5, floor: 5, now: 1_796_000_000, envelopeSize: body.count)
    if case .install(let accepted)? = verdict {
        for file in accepted.files { precondition(ReleasePath.isSafe(file.path), "accepted an unsafe path") }
        precondition(accepted.version > 5, "accepted a rollback")
    }
}

/// node.conf: refused with an error or accepted with an https URL and a 64-digit fingerprint.
private func fuzzConfig(_ bytes: [UInt8]) {
    guard let config = try? NodeConfig(bytes: bytes) else { return }
    precondition(SystemText.hasPrefix(Array(config.coordinatorURL.utf8)[...], "https://"))
    precondition(config.caSHA256.utf8.count == 64)
}
