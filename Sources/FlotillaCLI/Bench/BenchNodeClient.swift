import AsyncHTTPClient
import FlotillaCoordinator
import FlotillaProtocol
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One simulated node of the rollout benchmark: its own mutual-TLS client and trust state.
final class BenchNodeClient: @unchecked Sendable {
    // @unchecked: `signingKeys` is written once by `loadTrust` and read afterwards by the same
    // task; the benchmark never shares a node between tasks.
    let client: HTTPClient
    let serverURL: String
    let rootKey: Data
    private var signingKeys: [Data] = []

    init(client: HTTPClient, serverURL: String, rootKey: Data) {
        self.client = client
        self.serverURL = serverURL
        self.rootKey = rootKey
    }

    /// Walks the root documents from the pinned root: each signed by the previous root and its own.
    func loadTrust() async throws {
        let (_, body) = try await get("/v1/trust")
        let trust = try JSONDecoder().decode(TrustResponse.self, from: body)
        var root = rootKey
        var current: RootDocument?
        for envelope in trust.roots {
            guard let payload = Envelope.verifiedPayload(envelope, publicKey: root),
                let document = try? JSONDecoder().decode(RootDocument.self, from: payload),
                let ownKey = Data(base64Encoded: document.rootKey), Envelope.verifiedPayload(envelope, publicKey: ownKey) != nil,
                document.version == (current?.version ?? 0) + 1
            else { throw CLIError("root document chain does not verify") }
            root = ownKey
            current = document
        }
        guard let current else { throw CLIError("no root document") }
        signingKeys = current.signingKeys.compactMap { Data(base64Encoded: $0) }
    }

    /// Long-polls until a release arrives.
    func waitForRelease() async throws -> Data {
        while true {
            let (status, body) = try await get("/v1/release?wait=60", timeout: .seconds(75))
            if status == .ok { return body }
        }
    }

    /// Verifies the manifest and every file, then reports `applied`.
    func apply(_ envelopeBytes: Data) async throws {
        let envelope = try JSONDecoder().decode(SignedEnvelope.self, from: envelopeBytes)
        guard let payload = signingKeys.lazy.compactMap({ Envelope.verifiedPayload(envelope, publicKey: $0) }).first else {
            throw CLIError("bad_signature")
        }
        let manifest = try JSONDecoder().decode(ReleaseManifest.self, from: payload)
        guard manifest.version > 0, let expires = Timestamps.parse(manifest.expiresAt), expires > Date() else {
            throw CLIError("expired or invalid manifest")
        }
        for file in manifest.files {
            let (status, data) = try await get("/v1/blobs/\(file.sha256)")
            let digest = Envelope.sha256Hex(data)
            guard status == .ok, Int64(data.count) == file.size, digest == file.sha256 else { throw CLIError("hash_mismatch for \(file.path)") }
        }
        var request = HTTPClientRequest(url: serverURL + "/v1/release/report")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(ReleaseReport(version: manifest.version, status: .applied, health: "skipped"))))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard response.status == .ok else { throw CLIError("report refused: HTTP \(response.status.code)") }
    }

    private func get(_ path: String, timeout: TimeAmount = .seconds(30)) async throws -> (HTTPResponseStatus, Data) {
        let response = try await client.execute(HTTPClientRequest(url: serverURL + path), timeout: timeout)
        let body = try await response.body.collect(upTo: 8 << 20)
        return (response.status, Data(buffer: body))
    }
}
