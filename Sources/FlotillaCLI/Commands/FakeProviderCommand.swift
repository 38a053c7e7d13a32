import ArgumentParser
import FlotillaCoordinator
import Foundation
import FlotillaFakeProvider
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// `flotilla bench fake-provider`: the local OpenAI/Anthropic stand-in the gateway benchmark, the
/// demo and the tests call (see `FakeProvider`).
struct FakeProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-provider",
        abstract: "Serve a local fake LLM provider (OpenAI- and Anthropic-shaped) for benchmarks, the demo and tests.",
        discussion: "Prints its URL on the first line of standard output. The expected API key comes from FLOTILLA_FAKE_PROVIDER_KEY (none: any key)."
    )

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:0"

    @Option(help: "Serve HTTPS with this PEM certificate (with --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Flag(help: "Keep no log of requests (GET /_requests answers []): the gateway benchmark's setting, so the stand-in spends less of the shared cores.")
    var noRequestLog = false

    func run() async throws {
        guard let (host, port) = CoordinatorConfiguration.parseListen(listen) else { throw ValidationError("--listen must be HOST:PORT") }
        let environment = ProcessInfo.processInfo.environment
        let provider = FakeProvider(key: environment["FLOTILLA_FAKE_PROVIDER_KEY"].flatMap { $0.isEmpty ? nil : $0 }, keepsLog: !noRequestLog)
        var logger = Logger(label: "flotilla.fake-provider")
        logger.logLevel = .warning
        let scheme = tlsCert == nil ? "http" : "https"
        let onRunning: @Sendable (any Channel) async -> Void = { channel in
            Console.line("fake provider listening on \(scheme)://\(host):\(channel.localAddress?.port ?? port)")
        }
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil)
        if let tlsCert, let tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(tlsCert).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .file(tlsKey))
            let app = Application(router: provider.router(), server: try .tls(.http1(), tlsConfiguration: tls),
                                  configuration: configuration, onServerRunning: onRunning, logger: logger)
            try await app.runService()
        } else {
            let app = Application(router: provider.router(), configuration: configuration, onServerRunning: onRunning, logger: logger)
            try await app.runService()
        }
    }
}
