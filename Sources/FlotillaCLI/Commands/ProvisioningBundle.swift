import FlotillaCoordinator
import FlotillaProtocol
import Foundation

/// A provisioning bundle: the directory an operator copies onto a board's SD card.
///
/// Holds `node.conf` (0600: coordinator URL, pinned CA and its fingerprint, enrollment token,
/// group), the install script, the systemd unit and any cross-built agent binaries found in `dist/`.
struct ProvisioningBundle {
    let outputDirectory: String
    let provisioningDirectory: String
    let distDirectory: String?

    static let requiredFiles = ["install.sh", "flotilla-node.service"]

    /// Locates the provisioning files before anything is created, so a missing file fails early.
    init(outputDirectory: String, provisioningDirectory: String?) throws {
        self.outputDirectory = outputDirectory
        // A bundle gets a directory of its own: files of another bundle (or of /tmp) beside a
        // new node.conf would be copied onto a board with it.
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: outputDirectory), !existing.isEmpty {
            throw CLIError("\(outputDirectory) is not empty: give --out a new or empty directory")
        }
        guard let found = Self.locate(provisioningDirectory) else {
            throw CLIError(
                "cannot find the provisioning files (install.sh, flotilla-node.service): pass --provisioning-dir or set FLOTILLA_PROVISIONING_DIR"
            )
        }
        self.provisioningDirectory = found
        let dist = (found as NSString).deletingLastPathComponent + "/dist"
        self.distDirectory = FileManager.default.fileExists(atPath: dist) ? dist : nil
    }

    /// Writes the bundle and returns the paths written.
    func write(_ conf: NodeConf) throws -> [String] {
        try SecureFile.ensureDirectory(outputDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var written: [String] = []
        let confPath = outputDirectory + "/node.conf"
        try SecureFile.write(try encoder.encode(conf) + Data("\n".utf8), to: confPath, mode: 0o600)
        written.append(confPath)
        for (name, mode) in [("install.sh", 0o755), ("flotilla-node.service", 0o644)] {
            written.append(try copy(provisioningDirectory + "/" + name, as: name, mode: mode_t(mode)))
        }
        if let distDirectory {
            let agents = (try? FileManager.default.contentsOfDirectory(atPath: distDirectory)) ?? []
            for name in agents.sorted() where name.hasPrefix("flotilla-node-linux-") {
                written.append(try copy(distDirectory + "/" + name, as: name, mode: 0o755))
            }
        }
        return written
    }

    private func copy(_ source: String, as name: String, mode: mode_t) throws -> String {
        guard let data = FileManager.default.contents(atPath: source) else { throw CLIError("cannot read \(source)") }
        let target = outputDirectory + "/" + name
        try SecureFile.write(data, to: target, mode: mode)
        return target
    }

    /// `explicit`, `$FLOTILLA_PROVISIONING_DIR`, `<prefix>/share/flotilla/provisioning` next to the
    /// binary, or a `provisioning/` folder above the binary or the working directory (a checkout).
    static func locate(_ explicit: String?) -> String? {
        func valid(_ dir: String) -> Bool {
            requiredFiles.allSatisfy { FileManager.default.fileExists(atPath: dir + "/" + $0) }
        }
        var candidates: [String] = []
        if let explicit { return valid(explicit) ? explicit : nil }
        if let env = ProcessInfo.processInfo.environment["FLOTILLA_PROVISIONING_DIR"] { candidates.append(env) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.deletingLastPathComponent().path + "/share/flotilla/provisioning")
        for start in [executable, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] {
            var dir = start
            for _ in 0..<6 {
                candidates.append(dir.path + "/provisioning")
                dir = dir.deletingLastPathComponent()
            }
        }
        return candidates.first(where: valid)
    }
}
