import CFlotillaSystem

/// PicoClaw (see ../shared/reference/picoclaw.md and docs/picoclaw.md): config in
/// `$PICOCLAW_CONFIG` or `<home>/config.json` (merged, the user's keys stay), skills in the
/// workspace the config names, the fleet gateway as `model_list` entries whose key PicoClaw
/// reads from `flotilla-gateway.key` beside config.json, and the fleet CA in `flotilla-ca/`
/// beside it for PicoClaw's `SSL_CERT_DIR`. Reloads are checked, not assumed
/// (PicoClawRuntime+Reload.swift). A class: the agent hands it around by reference, which in an
/// Embedded build is far smaller than copying its strings.
final class PicoClawRuntime: RuntimeAdapter {
    /// PICOCLAW_HOME: the pid file, logs and, by default, config.json and the workspace.
    var home: String
    var configPath: String
    var workspace: String
    /// A shell command restarting PicoClaw (`systemctl restart picoclaw`); nil: `POST /reload`.
    var restartCommand: String?
    /// The node's gateway key and the fleet CA (in the agent's state directory), copied beside
    /// config.json for releases with gateway models; nil: not copied.
    var keySource: String?
    var caSource: String?
    /// How long PicoClaw has to show the outcome of a reload or restart.
    var timeoutMilliseconds: Int64 = 30_000
    /// How long a restarted PicoClaw must stay up (it removes its pid file when start-up fails
    /// after writing it), and after `/reload` how long no failure in gateway.log counts as
    /// success when PicoClaw's log level hides its success line (`gateway.log_level` below info).
    var quietMilliseconds: Int64 = 3_000

    /// The key file PicoClaw's gateway model entries reference (`file://` is relative to config.json).
    static let keyFileName = "flotilla-gateway.key"
    /// The directory holding the fleet CA, for `SSL_CERT_DIR=/etc/ssl/certs:<dir>`.
    static let trustDirectoryName = "flotilla-ca"

    /// PicoClaw's paths the way PicoClaw finds them: `home` from `--picoclaw-home`, else
    /// `$PICOCLAW_HOME`, else the parent of `--workspace`, else `~/.picoclaw`; the config from
    /// `--picoclaw-config`, else `$PICOCLAW_CONFIG`, else `<home>/config.json`; the workspace from
    /// `--workspace`, else `$PICOCLAW_AGENTS_DEFAULTS_WORKSPACE`, else the config's
    /// `agents.defaults.workspace` (`~` expanded), else `<home>/workspace`; the restart command
    /// from `--picoclaw-restart`, else `$FLOTILLA_PICOCLAW_RESTART` (install.sh writes it, as
    /// systemd would split a command inside the argument variable).
    init(home: String? = nil, config: String? = nil, workspace: String? = nil, restartCommand: String? = nil) {
        let userHome = Environment.value("HOME") ?? "/"
        self.home = home ?? Environment.value("PICOCLAW_HOME") ?? workspace.map(FileIO.parentDirectory)
            ?? Text.path(userHome, ".picoclaw")
        configPath = config ?? Environment.value("PICOCLAW_CONFIG") ?? Text.path(self.home, "config.json")
        self.restartCommand = restartCommand ?? Environment.value("FLOTILLA_PICOCLAW_RESTART")
        var named = workspace ?? Environment.value("PICOCLAW_AGENTS_DEFAULTS_WORKSPACE")
        if named == nil, let bytes = try? FileIO.read(configPath, maxBytes: 4 << 20),
           let text = (try? JSONParser(maxBytes: 4 << 20).parse(bytes))?["agents"]?["defaults"]?["workspace"]?.stringValue,
           !text.utf8.isEmpty {
            named = text
        }
        var resolved = named ?? Text.path(self.home, "workspace")
        if resolved.utf8.first == UInt8(ascii: "~") { resolved = Text.join(userHome, SystemText.string(Array(resolved.utf8)[1...])) }
        self.workspace = resolved
    }

    var mergesConfig: Bool { true }
    /// PicoClaw re-reads skills on every turn: a skills-only release needs no reload.
    var reloadsForSkills: Bool { false }

    var configDirectory: String { FileIO.parentDirectory(of: configPath) }

    /// Refuses to start without PicoClaw's home: every apply would fail on it.
    func validate() throws(NodeError) {
        guard try FileIO.info(home).kind == .directory else {
            throw .usage(Text.join("PicoClaw home ", home, " is not a directory (set --picoclaw-home or PICOCLAW_HOME)"))
        }
    }

    /// Why PicoClaw would refuse `merged` on this board, checked before anything changes: the
    /// board's config.json is of another format version, so PicoClaw would migrate it (and
    /// rewrite it and .security.yml) instead of loading it (pkg/config/config.go, LoadConfig).
    /// The rest of what PicoClaw checks was checked by `flotilla plan`, or shows at the reload.
    func refusal(merged: JSONValue, existing: JSONValue) -> String? {
        guard let version = merged["version"]?.intValue, case .object(let members) = existing, !members.isEmpty,
              existing["version"]?.intValue != version else { return nil }
        return Text.join(configPath, " is not a version-", Text.number(version),
                         " config (start PicoClaw once so it migrates the file, then the release applies)")
    }

    /// Writes the gateway key and the fleet CA beside config.json when the release has gateway
    /// models (its model_list entries reference `file://flotilla-gateway.key`); true when either
    /// changed (PicoClaw reads them only when it loads its config).
    func installGatewayFiles(_ manifest: ReleaseManifest) throws(NodeError) -> Bool {
        guard let keySource, let caSource, manifest.hasGatewayModels else { return false }
        let trust = Text.path(configDirectory, PicoClawRuntime.trustDirectoryName)
        try FileTree.makeDirectories(trust, mode: 0o755)
        let ca = try PicoClawRuntime.replace(Text.path(trust, "fleet-ca.pem"), with: try FileIO.read(caSource), mode: 0o644)
        let key = try installKey(from: keySource)
        return key || ca
    }

    /// Copies the node's gateway key to `flotilla-gateway.key` beside config.json (0600); true
    /// when it changed.
    func installKey(from keySource: String) throws(NodeError) -> Bool {
        try PicoClawRuntime.replace(Text.path(configDirectory, PicoClawRuntime.keyFileName),
                                    with: try FileIO.read(keySource, maxBytes: 4096), mode: 0o600)
    }

    /// After the node's gateway key changed: when PicoClaw uses it (a release with gateway models
    /// was applied), rewrites the key file and reloads PicoClaw so it reads it.
    func gatewayKeyChanged() {
        guard let keySource, FileIO.exists(Text.path(configDirectory, PicoClawRuntime.keyFileName)) else { return }
        do throws(NodeError) {
            guard try installKey(from: keySource) else { return }
            let health = reloadAndCheck()
            Log.info("PicoClaw given the new gateway key", [("health", health.wire), ("detail", health.detail)])
        } catch {
            Log.error("cannot give PicoClaw the new gateway key", error)
        }
    }

    /// Writes `bytes` atomically unless the file already holds them; true when written.
    static func replace(_ path: String, with bytes: [UInt8], mode: mode_t) throws(NodeError) -> Bool {
        if FileIO.exists(path), let current = try? FileIO.read(path, maxBytes: 1 << 20), current == bytes { return false }
        try FileIO.writeAtomically(path, bytes, mode: mode)
        return true
    }
}
