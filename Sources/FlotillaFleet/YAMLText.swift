import Foundation
import FlotillaProtocol
import Yams

/// Parsing YAML into Yams nodes (which keep line numbers and key order) and reading scalars the
/// YAML 1.2 core-schema way, so that what an operator writes is what a node gets: quoted scalars
/// are always strings (`"1.0"`), `yes`/`on` are strings, only `true`/`false` are booleans.
enum YAMLText {
    /// The single document in `text`, or nil when it is empty. `lineOffset` is added to every
    /// line reported (front matter starts on line 2 of `SKILL.md`).
    static func compose(_ text: String, file: String, lineOffset: Int = 0) throws(FleetSpecError) -> Node? {
        do {
            // The basic resolver resolves every plain scalar to a string; `scalarValue` does the
            // typing. It also makes `1` and `"1"` the same key, which JSON objects require.
            return try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            let (line, message) = describe(error, text: text)
            throw .syntax(file: file, line: line + lineOffset, message: message)
        } catch {
            throw .syntax(file: file, line: 1 + lineOffset, message: "\(error)")
        }
    }

    /// The line (in `text`) and a one-line message for a Yams error.
    private static func describe(_ error: YamlError, text: String) -> (Int, String) {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let context = context.map { " (\($0.text) at line \($0.mark.line))" } ?? ""
            let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            let hasTab = mark.line >= 1 && mark.line <= lines.count && lines[mark.line - 1].contains("\t")
            let hint = hasTab ? "; YAML does not allow tabs for indentation" : ""
            return (mark.line, problem + context + hint)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = context.mark.line
            if let again = lineOfRepeatedKey(key, firstLine: first, column: context.mark.column, in: text) {
                return (again, "duplicate key '\(key)' (first at line \(first))")
            }
            return (first, "duplicate key '\(key)' in this mapping")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { text.prefix($0).unicodeScalars.reduce(1) { $1 == "\n" ? $0 + 1 : $0 } } ?? 1
            return (line, problem)
        default:
            return (1, "\(error)")
        }
    }

    /// Where `key` appears again as a block-mapping key at the same column after `firstLine`.
    /// Yams reports a duplicate at its first occurrence; the second is the one to fix.
    private static func lineOfRepeatedKey(_ key: String, firstLine: Int, column: Int, in text: String) -> Int? {
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        guard firstLine >= 1, firstLine < lines.count else { return nil }
        let spellings = [key, "\"\(key)\"", "'\(key)'"]
        for index in firstLine..<lines.count {
            let scalars = lines[index]
            guard scalars.count >= column else { continue }
            let indent = scalars.prefix(column - 1)
            guard indent.allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            let rest = String(String.UnicodeScalarView(scalars.dropFirst(column - 1)))
            for spelling in spellings where rest.hasPrefix(spelling) {
                if rest.dropFirst(spelling.count).drop(while: { $0 == " " }).hasPrefix(":") { return index + 1 }
            }
        }
        return nil
    }

    /// Why a scalar cannot be read; the caller adds the path and line.
    struct ValueProblem: Error {
        var message: String
    }

    /// A scalar as JSON: plain scalars are typed by the YAML 1.2 core schema; quoted and block
    /// scalars are strings; explicit `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` are honoured.
    static func scalarValue(_ scalar: Node.Scalar) throws(ValueProblem) -> JSONDocument {
        let text = scalar.string
        switch scalar.tag.rawValue {
        case Tag.Name.implicit.rawValue:
            return scalar.style == .plain || scalar.style == .any ? try plainValue(text) : .string(text)
        case Tag.Name.str.rawValue, Tag.Name.nonSpecific.rawValue:
            return .string(text)
        case Tag.Name.int.rawValue:
            guard case .int(let value)? = try? integer(text) else { throw ValueProblem(message: "'\(text)' is not an integer") }
            return .int(value)
        case Tag.Name.float.rawValue:
            let value = try plainValue(text)
            switch value {
            case .int(let int): return .double(Double(int))
            case .double: return value
            default: throw ValueProblem(message: "'\(text)' is not a number")
            }
        case Tag.Name.bool.rawValue:
            guard case .bool(let value)? = boolean(text) else { throw ValueProblem(message: "'\(text)' is not true or false") }
            return .bool(value)
        case Tag.Name.null.rawValue:
            guard isNull(text) else { throw ValueProblem(message: "'\(text)' is not null") }
            return .null
        case let other:
            throw ValueProblem(message: "unsupported tag '\(other)'")
        }
    }

    /// A plain (unquoted) scalar: null, bool, int, float, else string.
    private static func plainValue(_ text: String) throws(ValueProblem) -> JSONDocument {
        if isNull(text) { return .null }
        if let value = boolean(text) { return value }
        if let value = try integer(text) { return value }
        if [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"].contains(text) {
            throw ValueProblem(message: "'\(text)' cannot be represented in JSON")
        }
        if isFloat(text), let value = Double(text), value.isFinite { return .double(value) }
        return .string(text)
    }

    private static func isNull(_ text: String) -> Bool {
        ["", "~", "null", "Null", "NULL"].contains(text)
    }

    private static func boolean(_ text: String) -> JSONDocument? {
        switch text {
        case "true", "True", "TRUE": .bool(true)
        case "false", "False", "FALSE": .bool(false)
        default: nil
        }
    }

    /// Decimal (`-12`), hex (`0x1F`) or octal (`0o17`) integers; nil when `text` is none of them.
    private static func integer(_ text: String) throws(ValueProblem) -> JSONDocument? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        if digits.hasPrefix("0x") { radix = 16 } else if digits.hasPrefix("0o") { radix = 8 }
        if radix != 10 { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        guard radix == 16 || digits.allSatisfy({ $0.isNumber && (radix == 10 || $0 < "8") }) else { return nil }
        guard let magnitude = UInt64(digits, radix: radix),
              magnitude <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)) else {
            throw ValueProblem(message: "integer '\(text)' is out of range")
        }
        return .int(negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude))
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let whole = rest.prefix { $0.isASCII && $0.isNumber }
        rest = rest.dropFirst(whole.count)
        var fraction = Substring("")
        if rest.first == "." {
            rest = rest.dropFirst()
            fraction = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty else { return false }
        if rest.first == "e" || rest.first == "E" {
            rest = rest.dropFirst()
            if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
            let exponent = rest.prefix { $0.isASCII && $0.isNumber }
            guard !exponent.isEmpty else { return false }
            rest = rest.dropFirst(exponent.count)
        }
        return rest.isEmpty
    }
}
