import ArgumentParser
import FlotillaCoordinator

/// The options every admin command takes to find the coordinator.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Coordinator URL, e.g. https://coordinator.lan:7443 (or FLOTILLA_SERVER).")
    var server: String?

    @Option(help: "Admin token (or FLOTILLA_ADMIN_TOKEN).")
    var token: String?

    @Option(help: "CA certificate file to trust (or FLOTILLA_CA).")
    var ca: String?

    @Option(help: "Data directory of a coordinator on this machine; reads its admin.url, admin.token and ca.pem.")
    var dataDir: String?

    func resolve() throws -> AdminConnection {
        try AdminConnection.resolve(
            server: server, token: token, caFile: ca, dataDir: dataDir, defaultDataDir: DataDirectory.defaultPath
        )
    }
}
