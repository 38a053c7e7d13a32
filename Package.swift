// swift-tools-version:6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "flotilla",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flotilla", targets: ["flotilla"]),
        .executable(name: "flotilla-node", targets: ["flotilla-node"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Wire types, error codes and limits shared by the coordinator and the CLI. No I/O.
        .target(
            name: "FlotillaProtocol",
            swiftSettings: strictSettings
        ),
        // The declarative fleet spec (`fleet/`): YAML schema, skill validation, publish requests.
        .target(
            name: "FlotillaFleet",
            dependencies: ["FlotillaProtocol", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // The coordinator: certificate authority, SQLite store, HTTP API, heartbeat pipeline.
        .target(
            name: "FlotillaCoordinator",
            dependencies: [
                "FlotillaProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // A local OpenAI/Anthropic-shaped provider stand-in for the gateway's tests, demo and benchmark.
        .target(
            name: "FlotillaFakeProvider",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The `flotilla` command line: `serve`, admin commands over the admin API, benchmarks.
        .target(
            name: "FlotillaCLI",
            dependencies: [
                "FlotillaProtocol",
                "FlotillaFleet",
                "FlotillaCoordinator",
                "FlotillaFakeProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The node agent. Embedded-Swift subset: no Foundation, no Codable, typed throws.
        .target(
            name: "FlotillaNode",
            dependencies: ["CFlotillaCurl", "CFlotillaCrypto", "CFlotillaSystem"],
            swiftSettings: strictSettings
        ),
        .systemLibrary(
            name: "CFlotillaCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CFlotillaCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CFlotillaSystem"),
        .executableTarget(
            name: "flotilla",
            dependencies: ["FlotillaCLI"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "flotilla-node",
            dependencies: ["FlotillaNode"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FlotillaProtocolTests",
            dependencies: ["FlotillaProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FlotillaFleetTests",
            dependencies: ["FlotillaFleet", "FlotillaProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FlotillaCoordinatorTests",
            dependencies: [
                "FlotillaCoordinator",
                "FlotillaProtocol",
                "FlotillaFakeProvider",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FlotillaCLITests",
            dependencies: ["FlotillaCLI", "FlotillaProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FlotillaNodeTests",
            dependencies: ["FlotillaNode"],
            swiftSettings: strictSettings
        ),
        // Real processes on loopback: a coordinator and node agents started from the built binaries.
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "flotilla",
                "flotilla-node",
                "FlotillaProtocol",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
