import Foundation
import FlotillaProtocol
import Yams

/// Checks a `SKILL.md`'s front matter the way PicoClaw reads it: the file starts with a line that
/// is exactly `---`, the front matter (YAML; JSON is YAML too) runs to the next line that is
/// exactly `---`, and it carries `name` (equal to the directory name) and `description`. Other
/// keys are allowed and ignored, as PicoClaw ignores them.
enum SkillFrontMatter {
    /// Every problem of `data` (the file's bytes); `file` is how messages name it.
    static func check(_ data: Data, file: String, directoryName: String) -> [FleetSpecError] {
        guard let text = String(data: data, encoding: .utf8) else {
            return [.unreadable(path: file, reason: "not valid UTF-8")]
        }
        // Split on LF only, so a CRLF file's "---\r" is seen (and explained) rather than hidden
        // inside one "\r\n" character.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        guard lines.first == "---" else {
            let hint = lines.first == "---\r" ? " (use LF line endings)" : ""
            return [.invalid(file: file, line: 1, message:
                "missing front matter: the first line must be exactly '---'\(hint), then name and description, then '---'")]
        }
        guard let end = lines.dropFirst().firstIndex(of: "---") else {
            return [.invalid(file: file, line: 1, message: "front matter is not closed: no line '---' after line 1")]
        }
        let yaml = lines[1..<end].joined(separator: "\n")
        let root: Node?
        do {
            root = try YAMLText.compose(yaml, file: file, lineOffset: 1)
        } catch {
            return [error]
        }
        guard let root else {
            return [.invalid(file: file, line: 1, message: "front matter is empty; name and description are required")]
        }
        var reader = SpecReader(file: file, lineOffset: 1)
        guard let entries = reader.mapping(root, "front matter") else { return reader.problems }
        check(entries, reader: &reader, directoryName: directoryName)
        return reader.problems
    }

    private static func check(_ entries: [SpecReader.Entry], reader: inout SpecReader, directoryName: String) {
        if let nameEntry = entries.first(where: { $0.key == "name" }) {
            if let name = reader.string(nameEntry.value, "name") {
                if name != directoryName {
                    reader.problem(nameEntry.value, "", "name '\(name)' does not match the directory '\(directoryName)'")
                } else if !SkillReader.isValidSkillName(name) {
                    reader.problem(nameEntry.value, "", "invalid name '\(name)' (letters and digits in hyphen-separated words, at most \(SkillReader.maxNameLength))")
                }
            }
        } else {
            reader.problem(line: 1, "name is required in the front matter (the directory name, '\(directoryName)')")
        }
        if let descriptionEntry = entries.first(where: { $0.key == "description" }) {
            if reader.scalar(descriptionEntry.value, "description") == .null {
                reader.problem(descriptionEntry.value, "", "description is empty; say what the skill does and when to use it")
            } else if let description = reader.string(descriptionEntry.value, "description") {
                let length = description.utf8.count
                if description.allSatisfy(\.isWhitespace) {
                    reader.problem(descriptionEntry.value, "", "description is empty; say what the skill does and when to use it")
                } else if length > SkillReader.maxDescriptionLength {
                    reader.problem(descriptionEntry.value, "",
                                   "description is \(length) bytes long; at most \(SkillReader.maxDescriptionLength)")
                }
            }
        } else {
            reader.problem(line: 1, "description is required in the front matter (what the skill does and when to use it)")
        }
    }
}
