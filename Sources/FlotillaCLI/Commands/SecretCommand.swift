import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla secret set|list|delete`: provider API keys in the coordinator's vault.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Manage provider API keys (kept encrypted on the coordinator; nodes never see them).",
        subcommands: [Set.self, List.self, Delete.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a provider's API key, read from standard input (never from the command line).",
            discussion: "Example: `echo \"$OPENAI_API_KEY\" | flotilla secret set openai`. On a terminal it asks without echoing."
        )

        @Argument(help: "The provider's name under providers: in fleet.yaml.")
        var provider: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let value = try SecretInput.read(prompt: "API key for \(provider): ")
            let info = try await AdminClient.with(try connection.resolve()) { client in
                try await client.put("/admin/v1/secrets/\(try PathSegment.encode(provider))", body: SetSecretRequest(value: value), as: SecretInfo.self)
            }
            print("Key for provider \(info.provider) set at \(info.setAt).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the providers that have a key (never the keys).")

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let secrets = try await AdminClient.with(try connection.resolve()) { client in
                try await client.get("/admin/v1/secrets", as: [SecretInfo].self)
            }
            if json {
                print(try JSONOutput.string(secrets))
                return
            }
            guard !secrets.isEmpty else {
                print("No provider keys set. Set one with `flotilla secret set PROVIDER` (the key on standard input).")
                return
            }
            var table = TextTable(headers: ["PROVIDER", "SET AT", "DECLARED"])
            for secret in secrets { table.add([secret.provider, secret.setAt, secret.declared ? "yes" : "no (not in the gateway configuration)"]) }
            print(table.render())
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a provider's key; its models are refused until a key is set again.")

        @Argument var provider: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminClient.with(try connection.resolve()) { client in
                try await client.delete("/admin/v1/secrets/\(try PathSegment.encode(provider))")
            }
            print("Key for provider \(provider) deleted.")
        }
    }
}

/// Reads a secret from standard input: the first line, without echo on a terminal.
enum SecretInput {
    static let maxBytes = 8 * 1024

    static func read(prompt: String) throws -> String {
        let terminal = isatty(STDIN_FILENO) != 0
        var saved = termios()
        if terminal {
            FileHandle.standardError.write(Data(prompt.utf8))
            tcgetattr(STDIN_FILENO, &saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
        }
        defer {
            if terminal {
                tcsetattr(STDIN_FILENO, TCSANOW, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count <= maxBytes, Glibc.read(STDIN_FILENO, &byte, 1) == 1 {
            if byte == 0x0A { break }
            bytes.append(byte)
        }
        guard bytes.count <= maxBytes else { throw CLIError("the key is longer than \(maxBytes) bytes") }
        let value = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw CLIError("no key on standard input (e.g. `echo \"$KEY\" | flotilla secret set PROVIDER`)") }
        return value
    }
}
