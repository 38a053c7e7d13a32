/// Everything that can be wrong with a fleet spec directory. Each problem names the file and,
/// where one applies, the line, so an operator can jump straight to it
/// (`fleet/fleet.yaml:12: groups.demo.skills[1]: unknown skill 'gretter' (have: greeter, node-health)`).
/// The loader collects every problem it finds and throws them together as `.multiple`, so one run
/// of `flotilla plan` shows all of them.
public enum FleetSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A file or directory could not be read (missing, permissions, not UTF-8).
    case unreadable(path: String, reason: String)
    /// A YAML document (`fleet.yaml` or a skill's front matter) is not well-formed YAML.
    case syntax(file: String, line: Int, message: String)
    /// A value breaks a rule of the spec schema or of the skill format. `line` is nil when the
    /// problem belongs to a path rather than to a line (a symlink inside a skill).
    case invalid(file: String, line: Int?, message: String)
    /// Several problems found in one pass, ordered by file and line.
    case multiple([FleetSpecError])

    /// The individual problems: this one, or each of `.multiple`'s, flattened.
    public var problems: [FleetSpecError] {
        if case .multiple(let errors) = self { return errors.flatMap(\.problems) }
        return [self]
    }

    /// The file the problem is in (nil for `.multiple`).
    public var file: String? {
        switch self {
        case .unreadable(let path, _): path
        case .syntax(let file, _, _), .invalid(let file, _, _): file
        case .multiple: nil
        }
    }

    /// The 1-based line the problem is on, when there is one.
    public var line: Int? {
        switch self {
        case .syntax(_, let line, _): line
        case .invalid(_, let line, _): line
        case .unreadable, .multiple: nil
        }
    }

    /// The message without the `file:line:` prefix.
    public var message: String {
        switch self {
        case .unreadable(_, let reason): "cannot read: \(reason)"
        case .syntax(_, _, let message): "invalid YAML: \(message)"
        case .invalid(_, _, let message): message
        case .multiple(let errors): errors.map(\.description).joined(separator: "\n")
        }
    }

    /// `file:line: message` for one problem; one such line per problem for `.multiple`.
    public var description: String {
        switch self {
        case .multiple:
            return message
        default:
            let location = line.map { "\(file ?? ""):\($0)" } ?? (file ?? "")
            return "\(location): \(message)"
        }
    }

    /// One problem as itself, several as `.multiple` in file and line order; nil for none.
    static func combining(_ problems: [FleetSpecError]) -> FleetSpecError? {
        let flat = problems.flatMap(\.problems)
        guard flat.count > 1 else { return flat.first }
        let ordered = flat.enumerated().sorted { lhs, rhs in
            let (a, b) = (lhs.element, rhs.element)
            if a.file != b.file { return (a.file ?? "").utf8.lexicographicallyPrecedes((b.file ?? "").utf8) }
            if a.line != b.line { return (a.line ?? 0) < (b.line ?? 0) }
            return lhs.offset < rhs.offset
        }
        return .multiple(ordered.map(\.element))
    }
}
