import Foundation
import FlotillaProtocol

/// Reads one skill directory (`skills/<name>/`) the way PicoClaw and the node agent will see it,
/// and refuses anything either would refuse or that is unsafe to ship to a fleet: symlinks,
/// special files, hidden or oddly named files, oversized files, a missing or invalid `SKILL.md`.
enum SkillReader {
    /// Longest skill name (PicoClaw's limit).
    static let maxNameLength = 64
    /// Longest description in UTF-8 bytes (PicoClaw's limit of 1024, counted the strict way).
    static let maxDescriptionLength = 1024
    /// Largest file (the node's per-file limit).
    static let maxFileBytes = 4 * 1024 * 1024
    /// Largest skill, all files together (the node's per-release limit).
    static let maxSkillBytes = 16 * 1024 * 1024
    /// Most files in a skill (the node's per-release limit).
    static let maxFiles = 1_000

    /// What reading a skill produced: its files when it is valid, else the problems.
    struct Result {
        var skill: PublishSkill?
        /// Sum of file sizes, for the per-group release limits.
        var totalBytes = 0
        var problems: [FleetSpecError] = []
    }

    /// A file found while walking, before it is read.
    private struct Found {
        var relativePath: String
        var fullPath: String
        var mode: Int
        var size: Int
    }

    /// Whether `name` is a valid skill name: `^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$`, at most 64.
    static func isValidSkillName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maxNameLength).contains(bytes.count) else { return false }
        func alnum(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        for (byte, next) in zip(bytes, bytes.dropFirst()) where byte == UInt8(ascii: "-") && next == UInt8(ascii: "-") {
            return false
        }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Reads and checks the skill in `directory` (as shown in messages and used on disk), whose
    /// last component is its name.
    static func read(directory: String, name: String) -> Result {
        var result = Result()
        guard isValidSkillName(name) else {
            result.problems.append(.invalid(file: directory, line: nil, message:
                "invalid skill directory name '\(name)' (letters and digits in hyphen-separated words, at most \(maxNameLength))"))
            return result
        }
        var found: [Found] = []
        walk(directory, relative: "", into: &found, problems: &result.problems)
        if found.count > maxFiles {
            result.problems.append(.invalid(file: directory, line: nil, message: "more than \(maxFiles) files; a skill may have at most \(maxFiles)"))
        }
        guard result.problems.isEmpty else { return result }

        result.totalBytes = found.reduce(0) { $0 + $1.size }
        if result.totalBytes > maxSkillBytes {
            result.problems.append(.invalid(file: directory, line: nil, message:
                "\(result.totalBytes) bytes in all; a skill may be at most \(maxSkillBytes / 1024 / 1024) MiB"))
        }
        guard let manifest = found.first(where: { $0.relativePath == "SKILL.md" }) else {
            result.problems.append(.invalid(file: directory, line: nil, message: "no SKILL.md (every skill needs one)"))
            return result
        }
        var files: [PublishFile] = []
        for file in found {
            guard let data = FileManager.default.contents(atPath: file.fullPath) else {
                result.problems.append(.unreadable(path: file.fullPath, reason: "could not read the file"))
                continue
            }
            if file.relativePath == manifest.relativePath {
                result.problems += SkillFrontMatter.check(data, file: manifest.fullPath, directoryName: name)
            }
            files.append(PublishFile(path: file.relativePath, mode: file.mode, content: data.base64EncodedString()))
        }
        guard result.problems.isEmpty else { return result }
        files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        result.skill = PublishSkill(name: name, files: files)
        return result
    }

    /// The mode a file ships with: 0o755 when any execute bit is set, else 0o644.
    static func publishMode(posixPermissions: Int) -> Int {
        posixPermissions & 0o111 != 0 ? 0o755 : 0o644
    }

    /// Why a file name cannot be shipped, or nil when it can.
    static func unsafeNameReason(_ name: String) -> String? {
        if name.hasPrefix(".") { return "hidden files and directories are not allowed in skills (rename or remove it)" }
        if name.contains("\\") { return "file names must not contain a backslash" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "file names must not contain control characters"
        }
        return nil
    }

    /// Collects the regular files under `directory`, refusing everything else. Stops early once
    /// there are more than `maxFiles`.
    private static func walk(_ directory: String, relative: String, into found: inout [Found], problems: inout [FleetSpecError]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            problems.append(.unreadable(path: directory, reason: reason(error)))
            return
        }
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard found.count <= maxFiles else { return }
            let fullPath = directory + "/" + name
            let relativePath = relative.isEmpty ? name : relative + "/" + name
            if let why = unsafeNameReason(name) {
                problems.append(.invalid(file: fullPath, line: nil, message: why))
                continue
            }
            let attributes: [FileAttributeKey: Any]
            do {
                attributes = try FileManager.default.attributesOfItem(atPath: fullPath)
            } catch {
                problems.append(.unreadable(path: fullPath, reason: reason(error)))
                continue
            }
            switch attributes[.type] as? FileAttributeType {
            case .typeSymbolicLink?:
                problems.append(.invalid(file: fullPath, line: nil, message: "symlinks are not allowed in skills (copy the file instead)"))
            case .typeDirectory?:
                walk(fullPath, relative: relativePath, into: &found, problems: &problems)
            case .typeRegular?:
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644
                if size > maxFileBytes {
                    problems.append(.invalid(file: fullPath, line: nil, message:
                        "\(size) bytes; a skill file may be at most \(maxFileBytes / 1024 / 1024) MiB"))
                } else {
                    found.append(Found(relativePath: relativePath, fullPath: fullPath,
                                       mode: publishMode(posixPermissions: permissions), size: size))
                }
            default:
                problems.append(.invalid(file: fullPath, line: nil, message: "only regular files and directories are allowed in skills"))
            }
        }
    }

    /// A short reason for a file system error.
    static func reason(_ error: any Error) -> String {
        switch (error as? CocoaError)?.code {
        case .fileReadNoSuchFile?, .fileNoSuchFile?: "no such file or directory"
        case .fileReadNoPermission?, .fileWriteNoPermission?: "permission denied"
        default: "\(error.localizedDescription)"
        }
    }
}
