import ArgumentParser
import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// `flotilla keys show|rotate-signing|rotate-root|export-root`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "The fleet's signing keys: show, rotate, take the root key offline.",
        discussion: "Nodes pin the root key from their provisioning bundle and follow rotations through the signed root documents, so no board needs re-provisioning.",
        subcommands: [Show.self, RotateSigning.self, RotateRoot.self, ExportRoot.self, ExportCoordinator.self]
    )

    struct ExportCoordinator: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-coordinator",
            abstract: "Write the key files a peer coordinator needs into a new directory (0700, files 0600).",
            discussion: """
                Copies, from this coordinator's data directory, the CA key and certificate, the signing and root keys, the master key \
                and the admin token's hash. On the peer's host: `flotilla serve --data-dir DIR --database URL --hostname NAME` joins \
                the fleet on the same database. Move DIR over a secure channel and keep it as private as the data directory.
                """
        )
        @Option(help: "Directory to create (it must not exist, or be empty).") var out: String
        @Option(help: "This coordinator's data directory. Default: $FLOTILLA_DATA_DIR or ~/.local/share/flotilla.") var dataDir: String?

        func run() throws {
            let directory = DataDirectory(dataDir ?? DataDirectory.defaultPath)
            let written: [String]
            do { written = try PeerKeys.export(from: directory, to: out) } catch { throw CLIError(error.message) }
            Swift.print("Wrote \(written.joined(separator: ", ")) to \(out).")
            Swift.print("On the peer: flotilla serve --data-dir \(out) --database postgres://USER@HOST:PORT/DB --hostname NAME")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the current root document.")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let view = try await AdminClient.with(try connection.resolve()) { try await $0.get("/admin/v1/keys", as: KeysView.self) }
            if json { return Swift.print(try JSONOutput.string(view)) }
            KeysCommand.show(view)
        }
    }

    struct RotateSigning: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace the online signing key (certified by the root).")
        @Option(help: "Root key file, when the root key is offline.") var rootKey: String?
        @Flag(help: "Make every node forget its release floor, so the fleet's current releases apply again on nodes frozen by a bogus high release version.")
        var resetReleaseFloor = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = KeyRotationRequest(rootKey: try rootKey.map(KeysCommand.readKey), resetReleaseFloor: resetReleaseFloor ? true : nil)
            let result = try await AdminClient.with(try connection.resolve()) {
                try await $0.post("/admin/v1/keys/rotate-signing", body: request, as: KeyRotationResponse.self)
            }
            Swift.print("Signing key rotated\(resetReleaseFloor ? "; nodes reset their release floor when they next check a release" : "").")
            KeysCommand.show(result.keys)
        }
    }

    struct RotateRoot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the root key: the new root document is signed by the old and the new root."
        )
        @Option(help: "Current root key file, when the root key is offline.") var rootKey: String?
        @Option(help: "Write the new root key here (0600) and keep it off the coordinator.") var out: String?
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = KeyRotationRequest(rootKey: try rootKey.map(KeysCommand.readKey), keepRootOnline: out == nil)
            let result = try await AdminClient.with(try connection.resolve()) { client in
                // With the root key on the coordinator, replacing it takes its data directory.
                request.rootKey == nil
                    ? try await client.postLocal("/admin/v1/keys/rotate-root", body: request, as: KeyRotationResponse.self)
                    : try await client.post("/admin/v1/keys/rotate-root", body: request, as: KeyRotationResponse.self)
            }
            if let out, let text = result.rootKey { try KeysCommand.writeKey(text, to: out) }
            Swift.print("Root key rotated\(out.map { "; the new root key is in \($0) and not on the coordinator" } ?? "").")
            KeysCommand.show(result.keys)
        }
    }

    struct ExportRoot: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the root key to a file (0600), optionally removing it from the coordinator.")
        @Option(help: "Where to write the key.") var out: String
        @Flag(help: "Delete the root key from the coordinator afterwards (keep the file safe: rotations then need it).") var remove = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let result = try await AdminClient.with(try connection.resolve()) {
                try await $0.postLocal("/admin/v1/keys/export-root", body: ExportRootRequest(remove: remove), as: KeyRotationResponse.self)
            }
            guard let text = result.rootKey else { throw CLIError("the coordinator returned no key") }
            try KeysCommand.writeKey(text, to: out)
            Swift.print("Root key written to \(out)\(remove ? " and removed from the coordinator" : "").")
        }
    }

    static func show(_ view: KeysView) {
        Swift.print("root document  version \(view.rootVersion)")
        Swift.print("root key       \(view.rootKeyID) (\(view.rootKeyOnline ? "on the coordinator" : "offline"))")
        Swift.print("root public    \(view.rootPublicKey)   (node.conf root_public_key)")
        for id in view.signingKeyIDs { Swift.print("signing key    \(id)") }
    }

    static func readKey(_ path: String) throws -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch { throw CLIError("cannot read \(path): \(error.localizedDescription)") }
    }

    /// Creates `path` as a new 0600 file (never over an existing file or through a symlink).
    static func writeKey(_ text: String, to path: String) throws {
        do {
            try SecureFile.createNew(Data(text.utf8), at: path, mode: 0o600)
        } catch {
            throw CLIError("cannot write the key to \(path): \(error)")
        }
    }
}
