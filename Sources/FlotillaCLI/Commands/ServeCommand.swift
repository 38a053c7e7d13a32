import ArgumentParser
import FlotillaCoordinator
import Foundation
import Logging
import NIOCore

/// `flotilla serve`: runs the coordinator.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator (CA, node API, admin API) on one HTTPS listener."
    )

    @Option(help: "Data directory (created 0700 on first start). Default: $FLOTILLA_DATA_DIR or ~/.local/share/flotilla.")
    var dataDir: String?

    @Option(help: "A PostgreSQL database shared with other coordinators instead of DATA/flotilla.sqlite: postgres://USER@HOST:PORT/DB (also $FLOTILLA_DATABASE_URL). Its password comes from the URL's passfile=PATH (libpq format) or --database-password-file, never the URL itself.")
    var database: String?

    @Option(help: "A file (0600) whose first line is the database password (also $FLOTILLA_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String?

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7443"

    @Option(name: .customLong("hostname"), help: "A name boards use to reach this coordinator; repeat for several. Added to the server certificate.")
    var hostnames: [String] = []

    @Option(help: "URL written into provisioning bundles (default: https://<first --hostname or listen host>:<port>).")
    var advertiseURL: String?

    @Option(help: "Heartbeat interval told to nodes.")
    var heartbeatInterval: String = "15s"

    @Option(help: "How long the heartbeat time series is kept.")
    var retention: String = "7d"

    @Option(help: "How long per-call gateway usage records are kept, at least 1d (e.g. 90d; older UTC days go whole); 0 keeps them all. Spend per day, node and model is always kept.")
    var usageRetention: String = "0"

    @Option(help: "Lifetime of node client certificates.")
    var nodeCertValidity: String = "30d"

    @Option(help: "Threads serving sockets and TLS (default: half the CPU cores, at least 1).")
    var eventLoopThreads: Int?

    @Option(help: "Largest request body the LLM gateway accepts, e.g. 4MiB or 512KiB.")
    var gatewayMaxBody: String = "4MiB"

    @Option(help: "Gateway: time to connect to a provider.")
    var upstreamConnectTimeout: String = "10s"

    @Option(help: "Gateway: time from sending a request to the provider's response headers.")
    var upstreamFirstByteTimeout: String = "600s"

    @Option(help: "Gateway: the longest silence from a provider, before or during its answer.")
    var upstreamIdleTimeout: String = "600s"

    @Option(help: "Gateway: a PEM file of CA certificates to trust for providers besides the system's; repeat for several.")
    var upstreamCa: [String] = []

    @Option(help: "Close connections that have not finished their TLS handshake within this.")
    var tlsHandshakeTimeout: String = "10s"

    @Option(help: "Most connections held open at once; more wait in the accept backlog.")
    var maxConnections: Int = 10_000

    @Option(help: "Failed enrollments one address may make per minute before it gets rate_limited.")
    var enrollFailuresPerMinute: Int = 20

    @Option(help: "Also serve /metrics without a token over plain HTTP on HOST:PORT (for a Prometheus on a trusted network, e.g. 127.0.0.1:9464).")
    var metricsListen: String?

    @Flag(help: "Let /metrics carry one budget series per node (off: fleet and group scopes only, bounded cardinality).")
    var metricsPerNode = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        // Everything the coordinator creates (the database's -wal and -shm files included) is
        // for its own user only.
        umask(0o077)
        guard let (host, port) = CoordinatorConfiguration.parseListen(listen) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 0.0.0.0:7443")
        }
        guard let interval = DurationParser.seconds(heartbeatInterval), interval >= 1 else {
            throw ValidationError("--heartbeat-interval must be a duration of at least 1s, e.g. 15s")
        }
        guard let retentionSeconds = DurationParser.seconds(retention), retentionSeconds >= 60 else {
            throw ValidationError("--retention must be a duration of at least 1m, e.g. 7d")
        }
        guard let validity = DurationParser.seconds(nodeCertValidity), validity >= 300 else {
            throw ValidationError("--node-cert-validity must be a duration of at least 5m, e.g. 30d")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in ServerLogHandler(label: label, level: level) }
        let directory = DataDirectory(dataDir ?? DataDirectory.defaultPath)
        var configuration = CoordinatorConfiguration(
            dataDirectory: directory, listenHost: host, listenPort: port, hostnames: hostnames, advertiseURL: advertiseURL,
            heartbeatInterval: interval, retention: retentionSeconds, nodeCertificateValidity: validity
        )
        guard let maxBody = ByteSize.parse(gatewayMaxBody), (1024...(256 * 1024 * 1024)).contains(maxBody) else {
            throw ValidationError("--gateway-max-body must be a size between 1KiB and 256MiB, e.g. 4MiB")
        }
        var timeouts: [Double] = []
        for (flag, text) in [("--upstream-connect-timeout", upstreamConnectTimeout), ("--upstream-first-byte-timeout", upstreamFirstByteTimeout),
                             ("--upstream-idle-timeout", upstreamIdleTimeout)] {
            guard let seconds = DurationParser.seconds(text), seconds > 0 else { throw ValidationError("\(flag) must be a duration, e.g. 30s") }
            timeouts.append(seconds)
        }
        configuration.gateway = GatewaySettings(
            maxBodyBytes: maxBody,
            timeouts: UpstreamTimeouts(connect: .milliseconds(Int64(timeouts[0] * 1000)), firstByte: .milliseconds(Int64(timeouts[1] * 1000)),
                                       idle: .milliseconds(Int64(timeouts[2] * 1000)))
        )
        configuration.upstreamCAFiles = upstreamCa
        if usageRetention != "0" {
            guard let seconds = DurationParser.seconds(usageRetention), seconds >= 86_400 else {
                throw ValidationError("--usage-retention must be 0 (keep every record) or a duration of at least 1d, e.g. 90d")
            }
            configuration.usageRetention = seconds
        }
        guard let handshake = DurationParser.seconds(tlsHandshakeTimeout), handshake >= 0.1 else {
            throw ValidationError("--tls-handshake-timeout must be a duration, e.g. 10s")
        }
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1...1000000") }
        guard (1...100_000).contains(enrollFailuresPerMinute) else { throw ValidationError("--enroll-failures-per-minute must be 1...100000") }
        configuration.handshakeTimeout = .milliseconds(Int64(handshake * 1000))
        configuration.maxConnections = maxConnections
        configuration.enrollFailuresPerMinute = enrollFailuresPerMinute
        configuration.metricsPerNode = metricsPerNode
        if let metricsListen {
            guard let address = CoordinatorConfiguration.parseListen(metricsListen) else {
                throw ValidationError("--metrics-listen must be HOST:PORT, e.g. 127.0.0.1:9464")
            }
            configuration.metricsListen = address
        }
        if let eventLoopThreads {
            guard (1...256).contains(eventLoopThreads) else { throw ValidationError("--event-loop-threads must be 1...256") }
            configuration.eventLoopThreads = eventLoopThreads
        }
        let environment = ProcessInfo.processInfo.environment
        if let text = database ?? environment["FLOTILLA_DATABASE_URL"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do { configuration.database = try DatabaseURL(text) } catch { throw ValidationError("--database: \(error.message)") }
            configuration.databasePasswordFile = databasePasswordFile ?? environment["FLOTILLA_DATABASE_PASSWORD_FILE"]
        } else if databasePasswordFile != nil {
            throw ValidationError("--database-password-file needs --database")
        }
        let coordinator = Coordinator(configuration: configuration, logger: Logger(label: "flotilla.coordinator"))
        do {
            try await coordinator.run(
                onInitialised: { bootstrap in
                    Console.line("Flotilla data directory \(directory.path); fleet CA SHA-256 \(bootstrap.caFingerprint)")
                    if let token = bootstrap.createdAdminToken {
                        // A service's output lands in its journal: the token goes to a terminal only.
                        if isatty(STDOUT_FILENO) == 1 {
                            Console.line("Admin token (shown once; also saved 0600 to \(directory.adminToken)): \(token)")
                        } else {
                            Console.line("Admin token created: read it from \(directory.adminToken) (0600)")
                        }
                    }
                },
                onReady: { [configuration] port in
                    Console.line("Flotilla coordinator ready on \(configuration.localAdminURL(port: port))")
                }
            )
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CLIError("cannot listen on \(listen): the address is already in use")
        }
    }
}
