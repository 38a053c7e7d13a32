import Foundation
import FlotillaProtocol
import Testing
@testable import FlotillaFleet

/// Problems in `skills/<name>/`: checked as PicoClaw and the node agent will check them.
@Suite struct SkillValidationTests {
    /// A fleet whose group `demo` uses skill `greeter`; `prepare` writes the skill.
    static func problems(_ prepare: (TemporaryFleet) throws -> Void) throws -> (TemporaryFleet, [FleetSpecError]) {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    skills: [greeter]\n")
        try prepare(fleet)
        do {
            _ = try FleetSpecLoader(directory: fleet.directory).load()
            Issue.record("expected problems")
            return (fleet, [])
        } catch {
            return (fleet, error.problems)
        }
    }

    /// The single problem, checked to be in `file` (relative to the spec directory) at `line`.
    static func expectProblem(file: String, line: Int?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                              _ prepare: (TemporaryFleet) throws -> Void) throws {
        let (fleet, problems) = try problems(prepare)
        #expect(problems.count == 1, "\(problems)", sourceLocation: sourceLocation)
        let problem = try #require(problems.first, sourceLocation: sourceLocation)
        #expect(problem.file == fleet.path(file), sourceLocation: sourceLocation)
        #expect(problem.line == line, sourceLocation: sourceLocation)
        #expect(problem.message == message, sourceLocation: sourceLocation)
    }

    @Test func nameMustMatchTheDirectory() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 2, "name 'Greeter2' does not match the directory 'greeter'") {
            try $0.skill("greeter", name: "Greeter2")
        }
    }

    @Test func missingDescription() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 1,
                               "description is required in the front matter (what the skill does and when to use it)") {
            try $0.write("skills/greeter/SKILL.md", "---\nname: greeter\n---\nBody\n")
        }
    }

    @Test func emptyDescription() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 3, "description is empty; say what the skill does and when to use it") {
            try $0.write("skills/greeter/SKILL.md", "---\nname: greeter\ndescription: \"  \"\n---\n")
        }
    }

    @Test func tooLongDescription() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 3, "description is 1025 bytes long; at most 1024") {
            try $0.skill("greeter", description: String(repeating: "a", count: 1025))
        }
        // Exactly 1024 is fine.
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    skills: [greeter]\n")
        try fleet.skill("greeter", description: String(repeating: "a", count: 1024))
        #expect(throws: Never.self) { try FleetSpecLoader(directory: fleet.directory).load() }
    }

    @Test func badSkillDirectoryName() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo: {}\n")
        try fleet.skill("bad--name")
        try fleet.skill(String(repeating: "a", count: 65))
        let loaded = try FleetSpecLoader(directory: fleet.directory).load()
        #expect(loaded.warnings == [
            "\(fleet.path("skills/" + String(repeating: "a", count: 65))): invalid skill directory name '\(String(repeating: "a", count: 65))'"
                + " (letters and digits in hyphen-separated words, at most 64) (skill '\(String(repeating: "a", count: 65))' is not used by any group)",
            "\(fleet.path("skills/bad--name")): invalid skill directory name 'bad--name'"
                + " (letters and digits in hyphen-separated words, at most 64) (skill 'bad--name' is not used by any group)",
        ])
    }

    @Test(arguments: ["node-health", "a", "A1-b2-C3", String(repeating: "x", count: 64)])
    func validSkillNames(name: String) {
        #expect(SkillReader.isValidSkillName(name))
    }

    @Test(arguments: ["", "-a", "a-", "a--b", "a_b", "a.b", "a b", "ä", String(repeating: "x", count: 65)])
    func invalidSkillNames(name: String) {
        #expect(!SkillReader.isValidSkillName(name))
    }

    @Test func symlinkInASkill() throws {
        try Self.expectProblem(file: "skills/greeter/scripts/run.sh", line: nil, "symlinks are not allowed in skills (copy the file instead)") {
            try $0.skill("greeter")
            try $0.write("outside.sh", "#!/bin/sh\n", mode: 0o755)
            try FileManager.default.createDirectory(atPath: $0.path("skills/greeter/scripts"), withIntermediateDirectories: true)
            try $0.symlink("skills/greeter/scripts/run.sh", to: $0.path("outside.sh"))
        }
    }

    @Test func symlinkedSkillDirectory() throws {
        try Self.expectProblem(file: "skills/greeter", line: nil, "symlinks are not allowed in skills (copy the skill instead)") {
            try $0.write("elsewhere/greeter/SKILL.md", "---\nname: greeter\ndescription: Greets.\n---\n")
            try FileManager.default.createDirectory(atPath: $0.path("skills"), withIntermediateDirectories: true)
            try $0.symlink("skills/greeter", to: $0.path("elsewhere/greeter"))
        }
    }

    @Test func missingFrontMatter() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 1,
                               "missing front matter: the first line must be exactly '---', then name and description, then '---'") {
            try $0.write("skills/greeter/SKILL.md", "# Greeter\nname: greeter\n")
        }
    }

    @Test func crlfFrontMatterIsExplained() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 1,
                               "missing front matter: the first line must be exactly '---' (use LF line endings), then name and description, then '---'") {
            try $0.write("skills/greeter/SKILL.md", "---\r\nname: greeter\r\ndescription: x\r\n---\r\n")
        }
    }

    @Test func unclosedFrontMatter() throws {
        try Self.expectProblem(file: "skills/greeter/SKILL.md", line: 1, "front matter is not closed: no line '---' after line 1") {
            try $0.write("skills/greeter/SKILL.md", "---\nname: greeter\ndescription: x\n")
        }
    }

    @Test func frontMatterYAMLErrorHasTheFileLine() throws {
        let (fleet, problems) = try Self.problems {
            try $0.write("skills/greeter/SKILL.md", "---\nname: greeter\ndescription: [unclosed\n---\n")
        }
        let problem = try #require(problems.first)
        guard case .syntax(let file, let line, _) = problem else {
            Issue.record("expected a syntax error, got \(problem)")
            return
        }
        #expect(file == fleet.path("skills/greeter/SKILL.md"))
        #expect((3...4).contains(line))
    }

    @Test func jsonFrontMatterIsAccepted() throws {
        let fleet = try TemporaryFleet(spec: "version: 1\ngroups:\n  demo:\n    skills: [greeter]\n")
        try fleet.write("skills/greeter/SKILL.md", "---\n{\"name\": \"greeter\", \"description\": \"Greets people.\", \"license\": \"MIT\"}\n---\n# Greeter\n")
        let skill = try #require(try FleetSpecLoader(directory: fleet.directory).load().publishGroups.first?.skills.first)
        #expect(skill.name == "greeter")
    }

    @Test func missingSkillFile() throws {
        try Self.expectProblem(file: "skills/greeter", line: nil, "no SKILL.md (every skill needs one)") {
            try $0.write("skills/greeter/README.md", "hello\n")
        }
    }

    @Test func hiddenFilesAreRefused() throws {
        try Self.expectProblem(file: "skills/greeter/.env", line: nil,
                               "hidden files and directories are not allowed in skills (rename or remove it)") {
            try $0.skill("greeter")
            try $0.write("skills/greeter/.env", "X=1\n")
        }
    }

    @Test func unsafeFileNames() {
        #expect(SkillReader.unsafeNameReason("run.sh") == nil)
        #expect(SkillReader.unsafeNameReason(".git") != nil)
        #expect(SkillReader.unsafeNameReason("..") != nil)
        #expect(SkillReader.unsafeNameReason("a\\b") != nil)
        #expect(SkillReader.unsafeNameReason("a\u{1}b") != nil)
        #expect(SkillReader.unsafeNameReason("tab\there") != nil)
    }

    @Test func oversizedFileIsRefused() throws {
        try Self.expectProblem(file: "skills/greeter/assets/big.bin", line: nil, "4194305 bytes; a skill file may be at most 4 MiB") {
            try $0.skill("greeter")
            try $0.write("skills/greeter/assets/big.bin", data: Data(count: 4 * 1024 * 1024 + 1))
        }
    }
}
