/// Where releases come from: the coordinator's node endpoints (docs/releases.md). A protocol so
/// the release logic can be driven by tests without a network; the agent uses the concrete
/// `CoordinatorReleaseSource` through generics.
protocol ReleaseSource {
    /// `GET /v1/release?seen=&wait=`: the envelope body on 200, nil on 204.
    func poll(seen: String, waitSeconds: Int) throws(NodeError) -> [UInt8]?
    /// `GET /v1/trust`: the `{"roots": [...]}` body.
    func trust() throws(NodeError) -> [UInt8]
    /// `GET /v1/blobs/<sha256>`, never buffering more than `maxBytes`.
    func blob(sha256: String, maxBytes: Int) throws(NodeError) -> [UInt8]
    /// `POST /v1/release/report`.
    func report(_ report: ReleaseReport) throws(NodeError)
}

/// The coordinator over the node's mutual-TLS client.
struct CoordinatorReleaseSource: ReleaseSource {
    let client: HTTPClient
    /// Coordinator base URL without a trailing slash.
    let baseURL: String

    /// A source on `client`, which already carries the node certificate.
    init(client: HTTPClient, baseURL: String) {
        self.client = client
        self.baseURL = baseURL
    }

    func poll(seen: String, waitSeconds: Int) throws(NodeError) -> [UInt8]? {
        let url = Text.join(baseURL, "/v1/release?seen=", seen, "&wait=", Text.number(Int64(waitSeconds)))
        // One byte over the envelope limit, so an oversized envelope is recognisable.
        let response = try client.get(url, maxBytes: ReleaseCheck.maxEnvelopeBytes + 1, timeoutSeconds: waitSeconds + 15)
        if response.status == 204 { return nil }
        return try HTTPClient.expect(200, response)
    }

    func trust() throws(NodeError) -> [UInt8] {
        try HTTPClient.expect(200, try client.get(Text.join(baseURL, "/v1/trust"), maxBytes: 1 << 20))
    }

    func blob(sha256: String, maxBytes: Int) throws(NodeError) -> [UInt8] {
        try HTTPClient.expect(200, try client.get(Text.join(baseURL, "/v1/blobs/", sha256), maxBytes: maxBytes))
    }

    func report(_ report: ReleaseReport) throws(NodeError) {
        _ = try client.postJSON(Text.join(baseURL, "/v1/release/report"), report.json(), expected: 200)
    }
}
