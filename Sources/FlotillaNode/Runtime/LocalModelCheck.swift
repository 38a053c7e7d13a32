/// Whether the board's local model answers, for the heartbeat's `local_model` field. The URL is
/// the installed release's `local_model_health_url` (the group's `local_model.health`, by default
/// `/health` at the server's root: llama-server answers 200 there once its model is loaded and
/// 503 while loading, llama.cpp tools/server/README.md). One plain-HTTP GET per heartbeat on a
/// kept connection, bounded by `timeoutSeconds`: a 2xx answer is `up`, anything else `down`.
struct LocalModelCheck {
    static let timeoutSeconds = 2

    /// The release version the URL was read from (-1: not read yet).
    private var version: Int64 = -1
    private var url: String?
    private var client: HTTPClient?
    /// The last result (true: up), so only a change is logged.
    private var last: Bool?

    init() {}

    /// `up` or `down`, or nil when the installed release of `store` declares no local model (or
    /// releases are disabled). Reads the manifest again only when the installed version changed.
    mutating func check(_ store: ReleaseStore?) -> String? {
        refresh(store)
        guard let url else { return nil }
        var up = false
        var detail = ""
        do throws(NodeError) {
            if client == nil { client = try HTTPClient(tls: nil, timeoutSeconds: Self.timeoutSeconds) }
            if let status = try client?.get(url, maxBytes: 64 * 1024).status {
                up = (200..<300).contains(status)
                detail = "HTTP " + Text.number(Int64(status))
            }
        } catch {
            detail = error.message
        }
        if up != last {
            if up {
                Log.info("local model answers", [("url", url)])
            } else {
                Log.warn("local model does not answer", [("url", url), ("reason", detail)])
            }
            last = up
        }
        return up ? "up" : "down"
    }

    private mutating func refresh(_ store: ReleaseStore?) {
        let installed = (try? store?.installedVersion()) ?? 0
        guard installed != version else { return }
        version = installed
        last = nil
        do throws(NodeError) {
            url = installed > 0 ? try store?.manifest(installed).localModelHealthURL : nil
        } catch {
            url = nil
            Log.error("cannot read the installed release's local model", error)
        }
    }
}
