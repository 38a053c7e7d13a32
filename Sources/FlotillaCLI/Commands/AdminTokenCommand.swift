import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla admin-token rotate`: replaces the admin token.
struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token",
        abstract: "The admin token: rotate it.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the admin token; the old one stops working at once.",
            discussion: "The coordinator also writes the new token to admin.token (0600) in its data directory, so the CLI on its machine keeps working. Elsewhere, the new token is printed once on a terminal, or written to --out."
        )

        @Option(help: "Write the new token to this new file (0600) instead of printing it.") var out: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let resolved = try connection.resolve()
            let rotation = try await AdminClient.with(resolved) { client in
                try await client.post("/admin/v1/admin-token/rotate", body: EmptyResponse?.none, as: AdminTokenRotation.self)
            }
            if let out {
                do {
                    try SecureFile.createNew(Data((rotation.adminToken + "\n").utf8), at: out, mode: 0o600)
                } catch {
                    throw CLIError("admin token rotated, but it could not be written to \(out): \(error). Read it from admin.token in the coordinator's data directory.")
                }
                print("Admin token rotated; the new token is in \(out).")
            } else if isatty(STDOUT_FILENO) == 1 || connection.dataDir == nil {
                print("Admin token rotated. New token (shown once): \(rotation.adminToken)")
            } else {
                print("Admin token rotated; the new token is in the coordinator's admin.token.")
            }
        }
    }
}
