import CFlotillaSystem

/// Steps 2–6 of "Applying" in docs/releases.md, for a release already downloaded and verified:
/// `apply.json`, a snapshot of everything the release touches, staged skill directories renamed
/// into place, the config replaced by rename, then reload and health check through the runtime.
/// A failed health check or any error after the snapshot restores it byte for byte; a crash is
/// repaired by `recover()` at the next start. Symlinks in the workspace are never followed.
final class ReleaseApplier<R: RuntimeAdapter> {
    let store: ReleaseStore
    let runtime: R

    /// What happened to a release that got as far as the workspace.
    enum Outcome {
        case applied(HealthCheck)
        case rolledBack(HealthCheck)
    }

    /// An applier writing into `runtime`'s workspace, keeping its records in `store`.
    init(store: ReleaseStore, runtime: R) {
        self.store = store
        self.runtime = runtime
    }

    var skillsPath: String { Text.path(runtime.workspace, "skills") }

    /// Applies `manifest` (files in `releases/<version>/files`) over `previous`, the installed
    /// release (nil: none). A skill whose files did not change (and whose directory is still
    /// there) is left alone. Throws before touching the workspace when it cannot start, and after
    /// restoring the snapshot when a step fails.
    func apply(_ manifest: ReleaseManifest, previous: ReleaseManifest?) throws(NodeError) -> Outcome {
        let newSkills = manifest.skillNames
        var changed: [String] = []
        for name in newSkills {
            if let previous, previous.sameSkill(name, as: manifest),
               try FileIO.info(Text.path(skillsPath, name)).kind == .directory { continue }
            changed.append(name)
        }
        var affected = changed
        for name in previous?.skillNames ?? [] where !ReleaseApplier.contains(newSkills, name) { affected.append(name) }
        let skills = try FileIO.info(skillsPath)
        guard skills.kind == .missing || skills.kind == .directory else {
            throw .io(operation: "refuse non-directory or symlink", path: skillsPath, errno: ELOOP)
        }
        let config = try plannedConfig(manifest, previous: previous)
        let filesChanged = try runtime.installGatewayFiles(manifest)

        try FileTree.remove(store.snapshotPath)
        let record = JSONValue.object([JSONMember("from", .int(previous?.version ?? 0)), JSONMember("to", .int(manifest.version))])
        try FileIO.writeAtomically(store.applyPath, JSONWriter.encode(record), mode: 0o600)
        try snapshot(affected, skillsDirectoryExisted: skills.kind == .directory)
        do throws(NodeError) {
            try FileTree.makeDirectories(skillsPath, mode: 0o755)
            for name in changed { try install(name, of: manifest) }
            for name in affected where !ReleaseApplier.contains(newSkills, name) { try replaceSkill(name, with: nil) }
            if let config { try FileIO.writeAtomically(runtime.configPath, config.bytes, mode: config.mode) }
        } catch {
            try restore()
            throw error
        }
        let health = config == nil && !filesChanged && !runtime.reloadsForSkills
            ? HealthCheck.skipped("only skills changed; the runtime reads them on every turn")
            : runtime.reloadAndCheck()
        if case .failed = health {
            try restore()
            _ = runtime.reloadAndCheck()
            return .rolledBack(health)
        }
        try store.storeInstalledVersion(manifest.version)
        try finish()
        try prune(keeping: manifest.version, previous?.version ?? 0)
        return .applied(health)
    }

    /// Finishes an apply interrupted by a crash (`apply.json` present): restores the snapshot, or
    /// only cleans up when the release had already been recorded as installed. Returns true
    /// when there was something to recover; `seen` is then forgotten so the release is retried.
    func recover() throws(NodeError) -> Bool {
        guard FileIO.exists(store.applyPath) else { return false }
        let target = (try? JSONParser(maxBytes: 4096).parse(try FileIO.read(store.applyPath, maxBytes: 4096)))?["to"]?.intValue
        if let target, target == (try? store.installedVersion()) {
            try finish()
        } else {
            try restore()
        }
        store.forgetSeen()
        return true
    }

    /// The new config file bytes and mode, or nil when the file is to stay as it is. Throws
    /// `config_refused` when the runtime would not load the result.
    func plannedConfig(_ manifest: ReleaseManifest, previous: ReleaseManifest?) throws(NodeError) -> (bytes: [UInt8], mode: mode_t)? {
        let info = try FileIO.info(runtime.configPath)
        guard info.kind == .missing || info.kind == .file else {
            throw .io(operation: "refuse non-file or symlink", path: runtime.configPath, errno: ELOOP)
        }
        let existing: [UInt8]? = info.kind == .file ? try FileIO.read(runtime.configPath, maxBytes: 4 << 20) : nil
        let mode = info.kind == .file ? mode_t(info.mode) : 0o600
        guard runtime.mergesConfig else {
            let bytes = JSONWriter.encodePretty(manifest.runtimeConfig)
            return bytes == existing ? nil : (bytes, mode)
        }
        let current = try existing.map { (bytes: [UInt8]) throws(NodeError) in try JSONParser(maxBytes: 4 << 20).parse(bytes) } ?? .object([])
        let merged = ConfigMerge.merged(existing: current, previous: previous?.runtimeConfig ?? .object([]),
                                        next: manifest.runtimeConfig)
        if let reason = runtime.refusal(merged: merged, existing: current) { throw .release(.configRefused, reason) }
        if JSONWriter.encode(merged) == JSONWriter.encode(current), existing != nil || ReleaseApplier.isEmptyObject(merged) {
            return nil
        }
        return (JSONWriter.encodePretty(merged), mode)
    }

    /// Copies what the release will touch into `snapshot/` (built as `snapshot.tmp` and renamed
    /// when complete, so a snapshot that exists is whole): `skills/<name>` for each affected skill
    /// that exists, an empty `absent/<name>` for one that does not (`absent/.skills` when there
    /// was no skills directory at all), and `config.json` with its mode when the config exists.
    func snapshot(_ names: [String], skillsDirectoryExisted: Bool) throws(NodeError) {
        let temporary = Text.join(store.snapshotPath, ".tmp")
        try FileTree.remove(temporary)
        try FileTree.makeDirectories(Text.path(temporary, "skills"), mode: 0o700)
        try FileTree.makeDirectories(Text.path(temporary, "absent"), mode: 0o700)
        for name in names {
            let source = Text.path(skillsPath, name)
            if try FileIO.info(source).kind == .missing {
                try FileIO.writeSynced(Text.join(temporary, "/absent/", name), [], mode: 0o600)
            } else {
                try FileTree.copy(source, to: Text.join(temporary, "/skills/", name))
            }
        }
        if !skillsDirectoryExisted { try FileIO.writeSynced(Text.path(temporary, "absent/.skills"), [], mode: 0o600) }
        let config = try FileIO.info(runtime.configPath)
        if config.kind == .file {
            try FileTree.copyFile(runtime.configPath, to: Text.path(temporary, "config.json"), mode: mode_t(config.mode))
        }
        try FileTree.syncDirectories(temporary)
        try FileIO.rename(temporary, store.snapshotPath)
        try FileIO.syncDirectory(store.directory)
    }

    /// Puts back everything the snapshot holds, then drops `apply.json` and the snapshot.
    /// Safe to run again after a crash part-way through.
    func restore() throws(NodeError) {
        let snapshot = store.snapshotPath
        guard FileIO.exists(snapshot) else { return try finish() }
        for name in try FileIO.listDirectory(Text.path(snapshot, "skills")) {
            try replaceSkill(name, with: Text.join(snapshot, "/skills/", name))
        }
        for name in try FileIO.listDirectory(Text.path(snapshot, "absent"))
        where ReleasePath.isSkillName(Array(name.utf8)[...]) {
            try replaceSkill(name, with: nil)
        }
        let saved = Text.path(snapshot, "config.json")
        let config = try FileIO.info(saved)
        if config.kind == .file {
            try FileIO.writeAtomically(runtime.configPath, try FileIO.read(saved, maxBytes: 4 << 20), mode: mode_t(config.mode))
        } else if FileIO.exists(runtime.configPath) {
            FileIO.remove(runtime.configPath)
            try FileIO.syncDirectory(containing: runtime.configPath)
        }
        if FileIO.exists(Text.path(snapshot, "absent/.skills")), try FileIO.info(skillsPath).kind == .directory,
           try FileIO.listDirectory(skillsPath).isEmpty {
            try FileTree.remove(skillsPath)
        }
        try finish()
    }

    /// Builds `<skills>/.flotilla-stage-<name>` from the release's files and swaps it in.
    func install(_ name: String, of manifest: ReleaseManifest) throws(NodeError) {
        let stage = Text.join(skillsPath, "/.flotilla-stage-", name)
        try FileTree.remove(stage)
        try FileTree.makeDirectories(stage, mode: 0o755)
        let prefixLength = "skills/".utf8.count + name.utf8.count + 1
        let files = Text.path(store.releaseDirectory(manifest.version), "files")
        for file in manifest.files {
            guard let skill = ReleasePath.skillName(file.path), SystemText.same(skill, name) else { continue }
            let destination = Text.path(stage, SystemText.string(Array(file.path.utf8)[prefixLength...]))
            try FileTree.makeDirectories(FileIO.parentDirectory(of: destination), mode: 0o755)
            try FileTree.copyFile(Text.path(files, file.path), to: destination, mode: mode_t(file.mode))
        }
        try FileTree.syncDirectories(stage)
        try replaceSkill(name, with: stage)
    }

    /// Replaces `<skills>/<name>` by `source` (nil: removes it). A staged `source` is renamed in;
    /// anything else (a snapshot) is first copied to the stage name. The old directory is
    /// renamed aside and deleted only after the directory entry is durable.
    func replaceSkill(_ name: String, with source: String?) throws(NodeError) {
        let target = Text.path(skillsPath, name)
        let stage = Text.join(skillsPath, "/.flotilla-stage-", name)
        let aside = Text.join(skillsPath, "/.flotilla-old-", name)
        try FileTree.remove(aside)
        if let source, !SystemText.same(source, stage) {
            if try FileIO.info(skillsPath).kind == .missing { try FileTree.makeDirectories(skillsPath, mode: 0o755) }
            try FileTree.remove(stage)
            try FileTree.copy(source, to: stage)
        }
        if try FileIO.info(target).kind != .missing { try FileIO.rename(target, aside) }
        if source != nil { try FileIO.rename(stage, target) }
        guard try FileIO.info(skillsPath).kind == .directory else { return }
        try FileIO.syncDirectory(skillsPath)
        try FileTree.remove(aside)
    }

    /// Drops `apply.json`, then the snapshot.
    func finish() throws(NodeError) {
        FileIO.remove(store.applyPath)
        try FileIO.syncDirectory(store.directory)
        try FileTree.remove(store.snapshotPath)
        try FileTree.remove(Text.join(store.snapshotPath, ".tmp"))
    }

    /// Deletes release directories other than the installed and the previous one.
    func prune(keeping installed: Int64, _ previous: Int64) throws(NodeError) {
        guard FileIO.exists(store.releasesPath) else { return }
        for name in try FileIO.listDirectory(store.releasesPath)
        where !SystemText.same(name, Text.number(installed)) && !SystemText.same(name, Text.number(previous)) {
            try FileTree.remove(Text.path(store.releasesPath, name))
        }
    }

    static func contains(_ names: [String], _ name: String) -> Bool {
        names.contains { SystemText.same($0, name) }
    }

    static func isEmptyObject(_ value: JSONValue) -> Bool {
        if case .object(let members) = value { return members.isEmpty }
        return false
    }
}
