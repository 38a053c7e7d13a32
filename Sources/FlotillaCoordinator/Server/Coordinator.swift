import Synchronization
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import UnixSignals
import X509

/// A coordinator process: opens (or initialises) the data directory and serves the node and admin
/// APIs over TLS until SIGTERM/SIGINT, then shuts down gracefully.
public struct Coordinator {
    public let configuration: CoordinatorConfiguration
    public let logger: Logger

    public init(configuration: CoordinatorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// What first start created, so `serve` can tell the operator once.
    public struct Bootstrap: Sendable {
        public var createdAdminToken: String?
        public var caFingerprint: String
    }

    /// What a coordinator is made of before it listens: the request handlers' services, the
    /// background services that must run beside the listener, and what the listener needs.
    struct Parts: Sendable {
        let services: CoordinatorServices
        /// The vault, whose opened keys another coordinator's change drops.
        let vault: SealingVault
        /// Group commit writers, rollout engine, retention: run for as long as the listener.
        let background: [any Service]
        let bootstrap: Bootstrap
        let server: ServerIdentity
        let ca: CertificateAuthority
        /// Set once the listener is bound (port 0 picks one).
        let port: PortBox
    }

    /// Opens (or initialises) the data directory and builds every part of the coordinator on
    /// `eventLoops`. `serve` runs them behind its TLS listener; tests run the same parts and the
    /// same router in-process.
    func assemble(eventLoops: any EventLoopGroup) async throws -> Parts {
        try SecureFile.ensureDirectory(configuration.dataDirectory.path)
        return try await assemble(eventLoops: eventLoops, storage: try CoordinatorStorage.sqlite(directory: configuration.dataDirectory, logger: logger))
    }

    /// `assemble(eventLoops:)` on storage opened by the caller (a shared database's client must
    /// be running while the parts are built and used).
    func assemble(eventLoops: any EventLoopGroup, storage: CoordinatorStorage) async throws -> Parts {
        let directory = configuration.dataDirectory
        try SecureFile.ensureDirectory(directory.path)
        let store = storage.store
        let ca = try Self.loadOrCreateCA(directory)
        let (masterKey, _) = try MasterKey.load(path: directory.masterKey)
        let (credentials, createdToken) = try AdminCredentials.loadOrCreate(directory: directory)
        if storage.backend != .sqlite { try await credentials.share(via: store, masterKey: masterKey, bus: storage.bus) }
        let server = try ServerIdentity.loadOrIssue(
            directory: directory, ca: ca, hostnames: configuration.hostnames, listenHost: configuration.listenHost
        )
        let writer = HeartbeatWriter(store: store, logger: logger)
        let trust = try await TrustRoot.open(directory: directory, store: store, masterKey: masterKey, bus: storage.bus)
        let onlineWindow = NodeStatusRule.onlineWindow(interval: configuration.heartbeatInterval)
        let port = PortBox(configuration.listenPort)
        let releases = ReleaseService(store: store, trust: trust, board: ReleaseBoard(), logger: logger, onlineWindow: onlineWindow,
                                      bus: storage.bus,
                                      gatewayURLs: { [configuration, members = storage.members] in
                                          await Self.gatewayURLs(own: configuration.advertisedURL(port: port.value), members: members)
                                      })
        try await releases.loadBoard()
        let rollouts = RolloutEngine(store: store, releases: releases, logger: logger, onlineWindow: onlineWindow)
        let reports = ReleaseReportWriter(store: store, logger: logger) { rollouts.poke() }
        let vault = try await SealingVault.open(rows: storage.secrets, settings: store, masterKey: masterKey, bus: storage.bus)
        let nodeKeys = NodeKeyService(store: storage.nodeKeys, bus: storage.bus)
        try await nodeKeys.load()
        let ledger = storage.ledger
        let metrics = FleetMetrics()
        let metering = GatewayMetering(ledger: ledger, events: storage.events, limiter: RateLimiter(now: configuration.rateClock),
                                       logger: logger, metrics: metrics, clock: configuration.clock)
        let upstream = UpstreamClient(
            eventLoopGroup: eventLoops, timeouts: configuration.gateway.timeouts,
            extraTrustRoots: try configuration.upstreamTrustRoots()
        )
        let services = CoordinatorServices(
            store: store, bus: storage.bus, members: storage.members, ca: ca, directory: NodeDirectory(try await store.nodes()), writer: writer,
            identities: PeerIdentityCache(ca: ca), releases: releases, credentials: credentials, reports: reports, rollouts: rollouts,
            nodeKeys: nodeKeys, vault: vault, ledger: ledger, metering: metering,
            enrollThrottle: FailureThrottle(attempts: "enrollments", limiter: RateLimiter(now: configuration.rateClock),
                                            failuresPerMinute: configuration.enrollFailuresPerMinute),
            signInThrottle: FailureThrottle(attempts: "sign-ins", limiter: RateLimiter(now: configuration.rateClock),
                                            failuresPerMinute: configuration.enrollFailuresPerMinute),
            sessions: storage.sessions, signInFailures: SignInFailures(), live: DashboardLive(),
            gatewayConfig: try await GatewayConfigService.open(store: store, bus: storage.bus),
            upstream: upstream, gatewaySettings: configuration.gateway,
            auditLog: storage.audit,
            metrics: metrics, metricsPerNode: configuration.metricsPerNode,
            heartbeatInterval: configuration.heartbeatInterval,
            nodeCertificateValidity: configuration.nodeCertificateValidity,
            advertisedURL: { [configuration] in configuration.advertisedURL(port: port.value) },
            logger: logger
        )
        let retention = RetentionService(store: store, retention: configuration.retention, period: .seconds(3600), logger: logger)
        var background: [any Service] = storage.services + [
            writer, reports,
            LeaderService(name: "rollouts", leadership: storage.leadership, service: rollouts),
            LeaderService(name: "heartbeat-retention", leadership: storage.leadership, service: retention),
            PeriodicFlushService { await metering.flushRateLimitEvents() },
            PeriodicFlushService { [services] in await services.flushSignInFailures() },
            ClusterSync(services: services, vault: vault, logger: logger),
            MembershipService(members: storage.members, id: storage.bus.origin, logger: logger,
                              url: { [configuration] in port.value == 0 ? nil : configuration.advertisedURL(port: port.value) }),
        ]
        if storage.backend != .sqlite { background.append(RateLimitShare(limiter: metering.limiter, bus: storage.bus)) }
        if let usageRetention = configuration.usageRetention {
            background.append(LeaderService(name: "usage-retention", leadership: storage.leadership, service:
                UsageRetentionService(ledger: ledger, retention: usageRetention, logger: logger, clock: configuration.clock)))
        }
        return Parts(
            services: services, vault: vault, background: background,
            bootstrap: Bootstrap(createdAdminToken: createdToken, caFingerprint: ca.fingerprint), server: server, ca: ca, port: port
        )
    }

    /// Runs the coordinator. `onInitialised` is called once the data directory is ready (before
    /// binding, so a first start's admin token is shown even if the port is taken); `onReady` with
    /// the bound port once it accepts connections.
    public func run(
        onInitialised: (Bootstrap) -> Void = { _ in },
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        // Event loops only do socket I/O and TLS; handlers, JSON and SQLite run on Swift's
        // cooperative pool. Half the cores each keeps them from fighting over a small board-class
        // machine (measured: +6% heartbeats/s on 2 cores against two loops).
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        do {
            try await withStorage { storage in
                try await run(storage: storage, eventLoops: eventLoops, onInitialised: onInitialised, onReady: onReady)
            }
        } catch {
            try? await eventLoops.shutdownGracefully()
            throw error
        }
        try await eventLoops.shutdownGracefully()
        logger.info("coordinator stopped")
    }

    /// Runs `body` with the configured storage open: the embedded SQLite file, or the shared
    /// PostgreSQL database with its connection pool running until `body` returns.
    func withStorage(_ body: (CoordinatorStorage) async throws -> Void) async throws {
        let directory = configuration.dataDirectory
        try SecureFile.ensureDirectory(directory.path)
        guard let url = configuration.database else {
            if let moved = try? SecureFile.read(directory.migratedMarker) {
                throw CoordinatorError.invalidRequest("""
                    this fleet was \(moved.trimmingCharacters(in: .whitespacesAndNewlines)). To go back to the embedded file \
                    instead (without what changed in the database since), delete \(directory.migratedMarker).
                    """)
            }
            return try await body(try CoordinatorStorage.sqlite(directory: directory, logger: logger))
        }
        let database = try PostgresPool(url: url, passwordFile: configuration.databasePasswordFile, logger: logger)
        let (masterKey, _) = try MasterKey.load(path: directory.masterKey)
        try await database.whileRunning {
            logger.info("using the shared database", metadata: ["database": "\(url)"])
            try await body(try await PostgresStorage.open(database: database, directory: directory, masterKey: masterKey, logger: logger))
        }
    }

    private func run(storage: CoordinatorStorage, eventLoops: MultiThreadedEventLoopGroup, onInitialised: (Bootstrap) -> Void,
                     onReady: @escaping @Sendable (Int) async -> Void) async throws {
        let parts = try await assemble(eventLoops: eventLoops, storage: storage)
        onInitialised(parts.bootstrap)
        let directory = configuration.dataDirectory
        let port = parts.port
        let upstream = parts.services.upstream
        let router = CoordinatorRouter.build(services: parts.services)
        let (server, ca) = (parts.server, parts.ca)

        let tls = try Self.tlsConfiguration(server: server, ca: ca)
        let app = Application(
            router: router,
            server: Self.serverBuilder(tls: tls, handshakeTimeout: configuration.handshakeTimeout),
            configuration: .init(
                address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(configuration.maxConnections, logger: logger)
            ),
            onServerRunning: { [configuration, logger] channel in
                let bound = channel.localAddress?.port ?? configuration.listenPort
                port.value = bound
                do {
                    try SecureFile.write(configuration.localAdminURL(port: bound) + "\n", to: directory.adminURL, mode: 0o600)
                } catch {
                    logger.error("cannot write admin.url", metadata: ["error": "\(error)"])
                }
                logger.info(
                    "coordinator listening",
                    metadata: ["address": "\(configuration.listenHost):\(bound)", "data_dir": "\(directory.path)"]
                )
                await onReady(bound)
            },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: logger
        )
        var services = parts.background.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [.init(service: app)]
        if let metrics = configuration.metricsListen {
            services.append(.init(service: metricsListener(metrics, parts: parts, eventLoops: eventLoops)))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            await upstream.shutdown()
            throw error
        }
        await upstream.shutdown()
    }

    /// The plain-HTTP listener that serves only `/metrics` (`serve --metrics-listen`); its URL goes
    /// to `metrics.url` once bound.
    func metricsListener(_ address: (host: String, port: Int), parts: Parts, eventLoops: any EventLoopGroup) -> some Service {
        let directory = configuration.dataDirectory
        let logger = logger
        return Application(
            router: MetricsAPI.listenerRouter(services: parts.services),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                let host = address.host.contains(":") ? "[\(address.host)]" : address.host
                do {
                    try SecureFile.write("http://\(host):\(port)/metrics\n", to: directory.metricsURL, mode: 0o600)
                } catch {
                    logger.error("cannot write metrics.url", metadata: ["error": "\(error)"])
                }
                logger.info("metrics listening (plain HTTP, no token)", metadata: ["address": "\(address.host):\(port)"])
            },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: logger
        )
    }

    /// HTTP/1.1 over TLS with a deadline on the handshake: a connection must finish its TLS
    /// handshake within `handshakeTimeout`, then may stay idle up to 120 s between requests.
    static func serverBuilder(tls: TLSConfiguration, handshakeTimeout: TimeAmount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let http = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .seconds(120)))
            return try TLSChannel(
                HandshakeDeadlineChannel(base: http, timeout: handshakeTimeout),
                configuration: TLSChannelConfiguration(tlsConfiguration: tls) { _ in .certificateVerified }
            )
        }
    }

    static func tlsConfiguration(server: ServerIdentity, ca: CertificateAuthority) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(server.certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(server.keyPEM.utf8), format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)
        )
        tls.minimumTLSVersion = .tlsv12
        // Ask every client for a certificate but let the handshake succeed without one (enrollment
        // and admin calls have none); node endpoints verify the certificate against the fleet CA
        // themselves so that a foreign certificate gets a JSON error rather than a TLS alert.
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.certificatePEM.utf8)))
        return tls
    }

    /// The gateway URL of every running coordinator (`own`, and the others seen in the last
    /// 15 s), sorted: a release lists them in the same order whichever coordinator publishes it,
    /// so applying on another one does not rewrite every board's PicoClaw config.
    static func gatewayURLs(own: String, members: any ClusterMembership) async -> [String] {
        await members.liveURLs(own: own).sorted().map { $0 + "/v1" }
    }

    static func loadOrCreateCA(_ directory: DataDirectory) throws -> CertificateAuthority {
        if SecureFile.exists(directory.caKey) {
            return try CertificateAuthority.load(
                certificatePEM: try SecureFile.read(directory.caCertificate), keyPEM: try SecureFile.read(directory.caKey)
            )
        }
        let ca = try CertificateAuthority.create()
        try SecureFile.write(ca.privateKeyPEM, to: directory.caKey, mode: 0o600)
        try SecureFile.write(ca.certificatePEM, to: directory.caCertificate, mode: 0o644)
        return ca
    }
}

/// The port the server bound, published from the server's start callback.
final class PortBox: Sendable {
    private let storage: Mutex<Int>

    init(_ initial: Int) { storage = Mutex(initial) }

    var value: Int {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
