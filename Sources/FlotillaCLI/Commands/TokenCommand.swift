import ArgumentParser
import FlotillaProtocol
import Foundation

/// `flotilla token list|revoke`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "List and revoke enrollment tokens.",
        subcommands: [List.self, Revoke.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrollment tokens (never their secrets).")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let tokens = try await AdminClient.with(try connection.resolve()) { client in
                try await client.get("/admin/v1/tokens", as: [TokenInfo].self)
            }
            if json {
                print(try JSONOutput.string(tokens))
                return
            }
            var table = TextTable(headers: ["ID", "GROUP", "STATE", "USES LEFT", "EXPIRES", "APPROVAL"])
            for t in tokens {
                table.add([t.id, t.group, t.state.rawValue, "\(t.usesLeft)/\(t.uses)", t.expiresAt, t.requireApproval ? "required" : "-"])
            }
            print(table.render())
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an enrollment token; boards can no longer enroll with it.")

        @Argument(help: "Token id, as shown by `flotilla token list`.")
        var id: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await AdminClient.with(try connection.resolve()) { client in
                try await client.delete("/admin/v1/tokens/\(try PathSegment.encode(id))")
            }
            print("Token \(id) revoked.")
        }
    }
}

/// Percent-encodes one URL path segment.
enum PathSegment {
    static func encode(_ value: String) throws -> String {
        guard let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) else {
            throw CLIError("cannot encode \(value) for a URL")
        }
        return encoded
    }
}

/// Pretty, stable JSON for `--json` output.
enum JSONOutput {
    static func string(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
