import Foundation
import NIOCore
import NIOSSL

/// Settings of one coordinator process (`flotilla serve`).
public struct CoordinatorConfiguration: Sendable {
    public var dataDirectory: DataDirectory
    public var listenHost: String
    /// TCP port; 0 picks a free one (tests), which is then written to `admin.url`.
    public var listenPort: Int
    /// Extra names the server certificate must cover (DNS names or IP addresses).
    public var hostnames: [String]
    /// URL put into provisioning bundles; derived from the hostnames and port when nil.
    public var advertiseURL: String?
    public var heartbeatInterval: TimeInterval
    /// How long the heartbeat time series is kept.
    public var retention: TimeInterval
    public var nodeCertificateValidity: TimeInterval
    /// How long per-call usage records are kept, in whole UTC days; nil: all of them. The daily
    /// roll-up (spend per day, node and model) is always kept.
    public var usageRetention: TimeInterval?
    /// Threads serving sockets and TLS; default half the cores, at least one.
    public var eventLoopThreads: Int
    /// Gateway body limit and provider timeouts.
    public var gateway = GatewaySettings()
    /// PEM files of CAs the gateway trusts for providers besides the system trust store.
    public var upstreamCAFiles: [String] = []
    /// Wall-clock time for budget periods; tests move it to the next day.
    public var clock: @Sendable () -> Date = { Date() }
    /// Monotonic seconds for rate limits; tests advance it.
    public var rateClock: @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    /// A connection must finish its TLS handshake within this.
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// Most connections the listener holds open at once; more wait in the accept backlog.
    public var maxConnections = 10_000
    /// Failed enrollment attempts one source address may make per minute before `rate_limited`.
    public var enrollFailuresPerMinute = 20
    /// Whether `/metrics` carries per-node series (budgets of single nodes); off so a large
    /// fleet does not explode the scrape's cardinality.
    public var metricsPerNode = false
    /// A second, plain-HTTP listener serving only `/metrics`, without a token, for a Prometheus
    /// on a trusted network (`serve --metrics-listen`); nil: none. Port 0 picks one, written to
    /// `metrics.url`.
    public var metricsListen: (host: String, port: Int)?
    /// A PostgreSQL database shared with other coordinators (`serve --database`); nil: the
    /// embedded `DATA/flotilla.sqlite`.
    public var database: DatabaseURL?
    /// A 0600 file holding the database password (`--database-password-file`).
    public var databasePasswordFile: String?

    public init(
        dataDirectory: DataDirectory, listenHost: String = "127.0.0.1", listenPort: Int = 7443, hostnames: [String] = [],
        advertiseURL: String? = nil, heartbeatInterval: TimeInterval = 15, retention: TimeInterval = 7 * 86_400,
        nodeCertificateValidity: TimeInterval = 30 * 86_400,
        eventLoopThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    ) {
        self.eventLoopThreads = eventLoopThreads
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.hostnames = hostnames
        self.advertiseURL = advertiseURL
        self.heartbeatInterval = heartbeatInterval
        self.retention = retention
        self.nodeCertificateValidity = nodeCertificateValidity
    }

    /// The certificates of `upstreamCAFiles`.
    func upstreamTrustRoots() throws -> [NIOSSLCertificate] {
        var roots: [NIOSSLCertificate] = []
        for file in upstreamCAFiles {
            do {
                roots += try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw CoordinatorError.internal("--upstream-ca \(file): not a readable PEM certificate file")
            }
        }
        return roots
    }

    /// Parses `HOST:PORT`, `[v6]:PORT` or `:PORT`.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// Host part of a URL for `host`, bracketing IPv6 literals.
    static func urlHost(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }

    /// The URL boards should use: `--advertise-url`, else the first `--hostname`, else the listen
    /// host when it is a concrete address, else this machine's hostname.
    func advertisedURL(port: Int) -> String {
        // Without trailing slashes: paths are appended to it (`/v1` for PicoClaw's gateway entries).
        if let advertiseURL { return String(advertiseURL.reversed().drop { $0 == "/" }.reversed()) }
        let host: String
        if let first = hostnames.first {
            host = first
        } else if let bytes = IPAddressBytes.parse(listenHost), IPAddressBytes.isWildcard(bytes) {
            host = ProcessInfo.processInfo.hostName
        } else {
            host = listenHost
        }
        return "https://\(Self.urlHost(host)):\(port)"
    }

    /// The loopback URL local admin commands use.
    public func localAdminURL(port: Int) -> String {
        if let bytes = IPAddressBytes.parse(listenHost) {
            if IPAddressBytes.isWildcard(bytes) {
                return bytes.count == 4 ? "https://127.0.0.1:\(port)" : "https://[::1]:\(port)"
            }
            return "https://\(Self.urlHost(listenHost)):\(port)"
        }
        return "https://\(listenHost):\(port)"
    }
}
