import FlotillaFakeProvider
import FlotillaProtocol
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Testing

@testable import FlotillaCoordinator

/// The coordinator's real parts and router, driven in-process (HummingbirdTesting), with the fake
/// provider listening on a loopback port as the upstream. Callers authenticate with node gateway
/// keys (the in-process channel carries no TLS).
struct GatewayTestbed {
    static let providerKey = "sk-test-provider-0123456789"

    let parts: Coordinator.Parts
    let client: any TestClientProtocol
    let provider: FakeProvider
    let providerURL: String

    var services: CoordinatorServices { parts.services }
    /// The embedded store, for tests that look at its tables.
    var sqlite: SQLiteStore { parts.services.store as! SQLiteStore }

    /// Runs `body` against a fresh coordinator whose gateway serves `gateway` (its providers'
    /// `base_url` of `"fake"` replaced by the fake provider's URL), with the provider key set.
    static func with(
        gateway: GatewaySpec = Self.defaultGateway, settings: GatewaySettings = GatewaySettings(), setKey: Bool = true,
        upstreamCAFiles: [String] = [], backend: Backend = .fromEnvironment, configure: @Sendable (inout CoordinatorConfiguration) -> Void = { _ in },
        _ body: @Sendable (GatewayTestbed) async throws -> Void
    ) async throws {
        guard backend == .postgres else {
            return try await run(gateway: gateway, settings: settings, setKey: setKey, upstreamCAFiles: upstreamCAFiles, storage: nil,
                                 configure: configure, body)
        }
        try await PostgresTestDatabase.with { database in
            try await run(gateway: gateway, settings: settings, setKey: setKey, upstreamCAFiles: upstreamCAFiles, storage: database,
                          configure: configure, body)
        }
    }

    private static func run(
        gateway: GatewaySpec, settings: GatewaySettings, setKey: Bool, upstreamCAFiles: [String], storage database: PostgresPool?,
        configure: @Sendable (inout CoordinatorConfiguration) -> Void, _ body: @Sendable (GatewayTestbed) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory("flotilla-gateway")
        defer { directory.remove() }
        let provider = FakeProvider(key: providerKey)
        let providerApp = Application(router: provider.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await providerApp.test(.live) { providerClient in
            let providerURL = "http://127.0.0.1:\(providerClient.port!)/v1"
            var configuration = CoordinatorConfiguration(dataDirectory: DataDirectory(directory.path), listenPort: 0, eventLoopThreads: 1)
            configuration.gateway = settings
            configuration.upstreamCAFiles = upstreamCAFiles
            configure(&configuration)
            try SecureFile.write("admin\n", to: configuration.dataDirectory.adminToken)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let coordinator = Coordinator(configuration: configuration, logger: logger)
            let parts: Coordinator.Parts
            if let database {
                try SecureFile.ensureDirectory(configuration.dataDirectory.path)
                let (masterKey, _) = try MasterKey.load(path: configuration.dataDirectory.masterKey)
                let storage = try await PostgresStorage.open(database: database, directory: configuration.dataDirectory, masterKey: masterKey, logger: logger)
                parts = try await coordinator.assemble(eventLoops: MultiThreadedEventLoopGroup.singleton, storage: storage)
            } else {
                parts = try await coordinator.assemble(eventLoops: MultiThreadedEventLoopGroup.singleton)
            }
            var spec = gateway
            for index in spec.providers.indices where spec.providers[index].baseURL == "fake" {
                spec.providers[index].baseURL = providerURL
            }
            if let change = try await parts.services.gatewayConfig.plan(spec, keysSet: []).1 {
                try await parts.services.gatewayConfig.commit(change)
            }
            if setKey {
                for provider in spec.providers {
                    try await parts.services.vault.setSecret(provider: provider.name, value: providerKey, now: Date())
                }
            }
            let background = ServiceGroup(configuration: .init(
                services: parts.background.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }, logger: logger))
            let app = Application(router: CoordinatorRouter.build(services: parts.services))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await background.run() }
                do {
                    try await app.test(.router) { client in
                        try await body(GatewayTestbed(parts: parts, client: client, provider: provider, providerURL: providerURL))
                    }
                } catch {
                    await background.triggerGracefulShutdown()
                    throw error
                }
                await background.triggerGracefulShutdown()
                try await group.waitForAll()
            }
            await parts.services.upstream.shutdown()
        }
    }

    /// One OpenAI provider with chat models (one unpriced, one for each fake behaviour), one
    /// Anthropic provider, and a `restricted` group that may use only `fleet-default`.
    static let defaultGateway = GatewaySpec(
        providers: [
            ProviderSpec(name: "openai", kind: .openai, baseURL: "fake", models: [
                ModelRoute(name: "fleet-default", upstream: "gpt-4o-mini"),
                ModelRoute(name: "fleet-embed", upstream: "text-embedding-3-small"),
                ModelRoute(name: "unpriced", upstream: "gpt-unknown"),
                ModelRoute(name: "cached", upstream: "fake-cached"),
                ModelRoute(name: "slow", upstream: "fake-slow"),
                ModelRoute(name: "dies", upstream: "fake-die"),
                ModelRoute(name: "hangs", upstream: "fake-hang"),
                ModelRoute(name: "redirects", upstream: "fake-redirect"),
                ModelRoute(name: "fails", upstream: "fake-error"),
                ModelRoute(name: "echoes-key", upstream: "fake-echo-key"),
            ]),
            ProviderSpec(name: "anthropic", kind: .anthropic, baseURL: "fake", models: [
                ModelRoute(name: "claude", upstream: "claude-3-5-haiku-latest"),
                ModelRoute(name: "claude-dies", upstream: "fake-die"),
            ]),
        ],
        prices: PriceTable(version: 3, models: [
            "gpt-4o-mini": ModelPrice(inputMicros: 150_000, outputMicros: 600_000, cachedInputMicros: 75_000),
            "text-embedding-3-small": ModelPrice(inputMicros: 20_000, outputMicros: 0),
            "claude-3-5-haiku-latest": ModelPrice(inputMicros: 800_000, outputMicros: 4_000_000, cachedInputMicros: 80_000),
            "fake-cached": ModelPrice(inputMicros: 1_000_000, outputMicros: 2_000_000, cachedInputMicros: 500_000),
            "fake-slow": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-die": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-hang": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-redirect": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-error": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-unavailable": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
            "fake-echo-key": ModelPrice(inputMicros: 1_000_000, outputMicros: 1_000_000),
        ]),
        groupModels: ["restricted": ["fleet-default"]]
    )

    /// Enrolls a node in `group` (state `state`) and returns it with its gateway key.
    func addNode(_ name: String, group: String = "edge", state: NodeAdminState = .active) async throws -> (NodeRecord, String) {
        let secret = Secrets.generateToken()
        let now = Date()
        try await services.store.insertToken(TokenRecord(
            id: Secrets.shortID(), tokenHash: Secrets.hash(secret), group: group, uses: 1, requireApproval: state == .pending,
            createdAt: now, expiresAt: now.addingTimeInterval(3600)))
        let nodeID = UUID().uuidString.lowercased()
        let key = NodeKeyService.make(nodeID: nodeID, now: now)
        var (node, _) = try await services.store.enroll(tokenHash: Secrets.hash(secret), name: name, nodeID: nodeID, now: now,
                                                  gatewayKey: key.record) { (_: String) throws(CoordinatorError) -> IssuedCertificate in
            IssuedCertificate(pem: "test", expiresAt: now.addingTimeInterval(86_400))
        }
        if state == .revoked { node = try await services.store.setAdminState(name: name, to: .revoked, at: now) }
        services.directory.publish(node)
        services.nodeKeys.publish(key.record)
        return (node, key.key)
    }

    /// POSTs JSON `body` to `path` with `key` as the bearer (or as `x-api-key` plus
    /// `anthropic-version` for Anthropic-style calls).
    func post(_ path: String, key: String?, body: String, anthropic: Bool = false) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key {
            if anthropic { headers[HTTPField.Name("x-api-key")!] = key } else { headers[.authorization] = "Bearer " + key }
        }
        if anthropic { headers[HTTPField.Name("anthropic-version")!] = "2023-06-01" }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Every usage record, oldest first.
    func records() async throws -> [UsageRecord] {
        if let postgres = parts.services.store as? PostgresStore {
            return try await postgres.database.rows("SELECT * FROM usage ORDER BY id").map(UsageRecord.init(postgresRow:))
        }
        return try await sqlite.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM usage ORDER BY id").map(UsageRecord.init(row:)) }
    }
}

extension UsageRecord {
    /// A record as `PostgresUsageLedger` stored it.
    init(postgresRow row: PostgresRandomAccessRow) throws {
        self.init(
            requestID: try row.get("request_id"), at: Date(timeIntervalSince1970: try row.get("at")), nodeID: try row.get("node_id"),
            group: try row.get("group_name"), provider: try row.get("provider"), model: try row.get("model"),
            upstreamModel: try row.get("upstream_model"), endpoint: GatewayEndpoint(rawValue: try row.get("endpoint")) ?? .chatCompletions,
            streamed: try row.get("streamed"),
            usage: TokenUsage(input: try row.get("input_tokens"), output: try row.get("output_tokens"), cached: try row.get("cached_tokens"),
                              cacheWrite: try row.get("cache_write_tokens")),
            costNanos: try row.get("cost_nanos"), priceVersion: try row.get("price_version"), latencyMs: try row.get("latency_ms"),
            ttfbMs: try row.get("ttfb_ms"), status: Int(try row.get("status", as: Int64.self)),
            outcome: UsageOutcome(rawValue: try row.get("outcome")) ?? .upstreamError, source: UsageSource(rawValue: try row.get("usage_source")) ?? .estimated,
            errorCode: try row.get("error_code"))
    }
}
