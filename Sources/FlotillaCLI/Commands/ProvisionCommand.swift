import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla provision`: creates an enrollment token and writes a provisioning bundle.
struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Create an enrollment token and write a provisioning bundle for new boards."
    )

    @Option(help: "Group the enrolled boards join.")
    var group: String

    @Option(help: "How many boards may enroll with this token.")
    var uses: Int = 1

    @Option(help: "How long the token stays valid, e.g. 24h, 7d.")
    var ttl: String = "24h"

    @Flag(help: "Enrolled nodes stay pending until `flotilla node approve NAME`.")
    var requireApproval = false

    @Option(help: "Bundle directory to write (created 0700).")
    var out: String

    @Option(help: "The coordinator URL boards prefer (default: the coordinator's advertised URL). node.conf also lists every other running coordinator of the fleet, which boards fail over to.")
    var coordinatorURL: String?

    @Option(help: "Directory holding install.sh and flotilla-node.service (default: found next to the binary or in the source checkout).")
    var provisioningDir: String?

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        guard let ttlSeconds = DurationParser.seconds(ttl), ttlSeconds >= 1, ttlSeconds <= 365 * 86_400 else {
            throw ValidationError("--ttl must be a duration between 1s and 365d, such as 24h")
        }
        guard uses >= 1 else { throw ValidationError("--uses must be at least 1") }
        let bundle = try ProvisioningBundle(outputDirectory: out, provisioningDirectory: provisioningDir)
        let created = try await AdminClient.with(try connection.resolve()) { client in
            try await client.post(
                "/admin/v1/tokens",
                body: CreateTokenRequest(group: group, uses: uses, ttlSeconds: Int(ttlSeconds), requireApproval: requireApproval),
                as: CreatedToken.self
            )
        }
        let preferred = coordinatorURL ?? created.coordinatorURL
        var coordinators = [preferred]
        // `--coordinator-url` stands for the answering coordinator's own URL; the others follow.
        for url in created.coordinators ?? [] where url != created.coordinatorURL && !coordinators.contains(url) {
            coordinators.append(url)
        }
        let conf = NodeConf(
            coordinatorURL: preferred, caPEM: created.caPEM, caSHA256: created.caSHA256,
            token: created.token, group: created.group, rootPublicKey: created.rootPublicKey, coordinators: coordinators
        )
        let files = try bundle.write(conf)
        print("Provisioning bundle for group \(created.group) written to \(out)")
        print("  token \(created.id): \(created.uses) use(s), expires \(created.expiresAt)\(created.requireApproval ? ", nodes need approval" : "")")
        print("  coordinator \(conf.coordinatorURL)\(coordinators.count > 1 ? " (then \(coordinators.dropFirst().joined(separator: ", ")))" : ""), CA SHA-256 \(conf.caSHA256)")
        for file in files { print("  \(file)") }
    }
}
