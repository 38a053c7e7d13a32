import Foundation

/// The coordinator's data directory (0700) and the files in it.
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) {
        self.path = path
    }

    /// `$FLOTILLA_DATA_DIR`, else `$XDG_DATA_HOME/flotilla`, else `~/.local/share/flotilla`.
    public static var defaultPath: String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["FLOTILLA_DATA_DIR"], !explicit.isEmpty { return explicit }
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/flotilla" }
        return NSHomeDirectory() + "/.local/share/flotilla"
    }

    public var database: String { path + "/flotilla.sqlite" }
    public var caCertificate: String { path + "/ca.pem" }
    public var caKey: String { path + "/ca.key" }
    public var serverCertificate: String { path + "/server.pem" }
    public var serverKey: String { path + "/server.key" }
    /// The admin token in plain text, written once at first start for local CLI use (0600).
    public var adminToken: String { path + "/admin.token" }
    /// SHA-256 (hex) of the admin token: what admin requests are checked against (0600).
    public var adminTokenHash: String { path + "/admin-token.sha256" }
    /// Proof of access to this directory, needed with the admin token to export or replace the
    /// root key (0600).
    public var localKey: String { path + "/local.key" }
    /// The fleet's root signing key (Ed25519, 0600). Absent once exported with `--remove`.
    public var rootKey: String { path + "/root.key" }
    /// The online release-signing key (Ed25519, 0600), certified by the root.
    public var signingKey: String { path + "/signing.key" }
    /// The key that seals provider keys in the database (0600), unless `FLOTILLA_MASTER_KEY` is set.
    public var masterKey: String { path + "/master.key" }
    /// The newest audit entry's sequence and hash (0600): shows entries cut off the log's end.
    public var auditHead: String { path + "/audit.head" }
    /// The token Prometheus presents to read `/metrics` (0600).
    public var metricsToken: String { path + "/metrics.token" }
    /// The URL of the plain-HTTP metrics listener (`serve --metrics-listen`), rewritten at every start.
    public var metricsURL: String { path + "/metrics.url" }
    /// The loopback URL of the running coordinator's admin API, rewritten at every start.
    public var adminURL: String { path + "/admin.url" }
    /// Written by `flotilla migrate` (0600): the fleet moved to that PostgreSQL database, so
    /// `serve` without `--database` refuses to carry on with the stale embedded file.
    public var migratedMarker: String { path + "/migrated-to-postgres" }
}
