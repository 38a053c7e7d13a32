import FlotillaProtocol
import Yams

/// Reads typed values out of a composed YAML document and collects every problem with its file,
/// line and dotted key path, instead of stopping at the first one.
struct SpecReader {
    /// The file as shown in messages (`fleet/fleet.yaml`).
    let file: String
    /// Added to every node's line (for documents embedded in a larger file).
    var lineOffset = 0
    private(set) var problems: [FleetSpecError] = []
    /// Line of each budget scope's `downgrade:` by the scope's path (`budgets.fleet`).
    var downgradeLines: [String: Int?] = [:]

    init(file: String, lineOffset: Int = 0) {
        self.file = file
        self.lineOffset = lineOffset
    }

    /// One entry of a mapping, with the key's node for its line.
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
    }

    /// The line of `node` in the file.
    func line(of node: Node?) -> Int? {
        node?.mark.map { $0.line + lineOffset }
    }

    /// Records `path: message` at `node`'s line.
    mutating func problem(_ node: Node?, _ path: String, _ message: String) {
        problem(line: line(of: node), path.isEmpty ? message : "\(path): \(message)")
    }

    /// Records `message` at `line`.
    mutating func problem(line: Int?, _ message: String) {
        problems.append(.invalid(file: file, line: line, message: message))
    }

    /// Appends problems found elsewhere (a nested reader).
    mutating func absorb(_ others: [FleetSpecError]) {
        problems.append(contentsOf: others)
    }

    /// `path.key`, or `key` at the top.
    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The entries of a mapping in document order; nil (and a problem) when `node` is not a
    /// mapping or a key is not a plain string.
    mutating func mapping(_ node: Node, _ path: String, what: String = "a mapping") -> [Entry]? {
        guard case .mapping(let mapping) = node else {
            problem(node, path, "expected \(what), found \(kind(of: node))")
            return nil
        }
        var entries: [Entry] = []
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                problem(key, path, "keys must be strings, found \(kind(of: key))")
                continue
            }
            if scalar.string == "<<", scalar.style == .plain {
                problem(key, path, "YAML merge keys (<<) are not supported; write the keys out")
                continue
            }
            entries.append(Entry(key: scalar.string, keyNode: key, value: value))
        }
        return entries
    }

    /// Records a problem for each key not in `allowed`.
    mutating func rejectUnknownKeys(_ entries: [Entry], _ path: String, allowed: [String]) {
        for entry in entries where !allowed.contains(entry.key) {
            let expected = allowed.joined(separator: ", ")
            problem(entry.keyNode, Self.join(path, entry.key), "unknown key '\(entry.key)' (expected one of: \(expected))")
        }
    }

    /// The scalar's JSON value, or nil (and a problem) when it is not a scalar or not readable.
    mutating func scalar(_ node: Node, _ path: String) -> JSONDocument? {
        guard case .scalar(let scalar) = node else {
            problem(node, path, "expected a single value, found \(kind(of: node))")
            return nil
        }
        do {
            return try YAMLText.scalarValue(scalar)
        } catch {
            problem(node, path, error.message)
            return nil
        }
    }

    /// A string value; numbers and booleans are refused so `name: 1.0` is not silently `"1.0"`.
    mutating func string(_ node: Node, _ path: String) -> String? {
        guard let value = scalar(node, path) else { return nil }
        guard case .string(let text) = value else {
            problem(node, path, "expected a string, found \(describe(value)) (quote it)")
            return nil
        }
        return text
    }

    /// An integer value.
    mutating func integer(_ node: Node, _ path: String) -> Int64? {
        guard let value = scalar(node, path) else { return nil }
        guard case .int(let number) = value else {
            problem(node, path, "expected an integer, found \(describe(value))")
            return nil
        }
        return number
    }

    /// The elements of a sequence; nil (and a problem) when `node` is not a sequence.
    mutating func sequence(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            problem(node, path, "expected a list, found \(kind(of: node))")
            return nil
        }
        return Array(sequence)
    }

    /// A list of strings, with `[index]` paths in problems.
    mutating func strings(_ node: Node, _ path: String) -> [(value: String, node: Node)]? {
        guard let elements = sequence(node, path) else { return nil }
        var result: [(value: String, node: Node)] = []
        for (index, element) in elements.enumerated() {
            if let text = string(element, "\(path)[\(index)]") { result.append((text, element)) }
        }
        return result
    }

    /// How a node reads in a message: "a mapping", "a list", "'text'".
    func kind(of node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let scalar):
            scalar.string.isEmpty && scalar.style == .plain ? "nothing" : "'\(scalar.string)'"
        }
    }

    /// How a scalar value reads in a message.
    func describe(_ value: JSONDocument) -> String {
        switch value {
        case .null: "nothing"
        case .bool(let flag): "\(flag)"
        case .int(let number): "\(number)"
        case .double(let number): "\(number)"
        case .string(let text): "'\(text)'"
        case .array: "a list"
        case .object: "a mapping"
        }
    }
}
