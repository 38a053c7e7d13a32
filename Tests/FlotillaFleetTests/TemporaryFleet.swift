import Foundation

/// A fleet spec directory in a fresh temporary directory, removed when the value goes away.
final class TemporaryFleet {
    /// The spec directory (what `FleetSpecLoader` is given).
    let directory: String

    /// A directory with `fleet.yaml` set to `spec` (when given) and nothing else.
    init(spec: String? = nil) throws {
        directory = NSTemporaryDirectory() + "flotilla-fleet-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let spec { try write("fleet.yaml", spec) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `relative` under the spec directory.
    func path(_ relative: String) -> String {
        directory + "/" + relative
    }

    /// Writes a file, creating its directories, with `mode`.
    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        try write(relative, data: Data(text.utf8), mode: mode)
    }

    /// Writes bytes, creating the file's directories, with `mode`.
    func write(_ relative: String, data: Data, mode: Int = 0o644) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: data) else {
            throw CocoaError(.fileWriteUnknown)
        }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
    }

    /// A skill whose front matter has `name` (default: the directory name) and `description`.
    func skill(_ directoryName: String, name: String? = nil, description: String = "Does a thing when asked.") throws {
        try write("skills/\(directoryName)/SKILL.md", """
            ---
            name: \(name ?? directoryName)
            description: \(description)
            ---
            # \(directoryName)
            Body.

            """)
    }

    /// A symlink at `relative` pointing to `target`.
    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
    }
}
