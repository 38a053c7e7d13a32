import Foundation

/// Where an admin command finds the coordinator.
///
/// 1. `--data-dir DIR`: the coordinator on this machine, through `DIR/admin.url`, `DIR/admin.token`
///    and `DIR/ca.pem`; any of `--server/--token/--ca` given as well overrides its part.
/// 2. `--server URL` or `FLOTILLA_SERVER`: a remote coordinator; the token comes from `--token` or
///    `FLOTILLA_ADMIN_TOKEN`, the CA from `--ca` or `FLOTILLA_CA` (system trust store if neither).
/// 3. Otherwise the default data directory, as in 1.
public struct AdminConnection: Sendable, Equatable {
    public var serverURL: String
    public var token: String
    /// PEM of the CA to trust; nil means the system trust store.
    public var caPEM: String?
    /// The data directory's `local.key`, when the coordinator runs on this machine and this
    /// user can read it: root-key operations need it besides the admin token.
    public var localKey: String?

    public init(serverURL: String, token: String, caPEM: String?, localKey: String? = nil) {
        self.serverURL = serverURL
        self.token = token
        self.caPEM = caPEM
        self.localKey = localKey
    }

    public static func resolve(
        server: String?, token: String?, caFile: String?, dataDir: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        defaultDataDir: String
    ) throws -> AdminConnection {
        if dataDir == nil, let remote = server ?? environment["FLOTILLA_SERVER"], !remote.isEmpty {
            guard let token = token ?? environment["FLOTILLA_ADMIN_TOKEN"], !token.isEmpty else {
                throw CLIError("no admin token for \(remote): pass --token or set FLOTILLA_ADMIN_TOKEN")
            }
            let ca = try (caFile ?? environment["FLOTILLA_CA"]).map(read)
            return AdminConnection(serverURL: remote, token: token, caPEM: ca)
        }
        let directory = dataDir ?? defaultDataDir
        guard FileManager.default.fileExists(atPath: directory + "/admin.url") else {
            throw CLIError(
                "no coordinator found: \(directory)/admin.url does not exist (is `flotilla serve --data-dir \(directory)` running?). For a remote coordinator pass --server URL --token TOKEN [--ca FILE]."
            )
        }
        return AdminConnection(
            serverURL: try server ?? read(directory + "/admin.url"),
            token: try token ?? read(directory + "/admin.token"),
            caPEM: try read(caFile ?? directory + "/ca.pem"),
            localKey: try? read(directory + "/local.key")
        )
    }

    private static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
