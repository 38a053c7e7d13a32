import Foundation
import FlotillaProtocol

/// PicoClaw's config schema as PicoClaw's own loader applies it, generated from its config
/// structs by `scripts/picoclaw-schema.py` and compiled in (Resources/picoclaw-schema.json).
/// PicoClaw refuses a config.json with any key its structs do not name, at any depth
/// (pkg/config/diagnostics.go), so a group's `config:` is checked against this before anything
/// is published.
public struct PicoClawSchema: Sendable {
    /// The PicoClaw release the schema was generated from (a tag such as `v0.2.9`).
    public let picoclawVersion: String
    /// The commit of that release.
    public let picoclawCommit: String
    /// The config file format PicoClaw loads without migrating it (`CurrentVersion`); Flotilla
    /// writes it as `"version"` into every config it publishes.
    public let configVersion: Int
    /// JSON names of the fields PicoClaw stores as credentials (`SecureString`), anywhere.
    public let secretNames: Set<String>
    /// Channel types `channel_list` entries may have (a missing `type` is the entry's name).
    public let channelTypes: Set<String>
    /// Channel types of which at most one instance may be enabled.
    public let singletonChannelTypes: Set<String>
    let root: String
    let structs: [String: Struct]

    /// One Go struct: its JSON field names and their types.
    struct Struct: Decodable, Sendable {
        let fields: [String: String]
        /// The struct decodes itself: a value that is not an object is not checked.
        let customDecoder: Bool

        enum CodingKeys: String, CodingKey {
            case fields
            case customDecoder = "custom_decoder"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            fields = try container.decode([String: String].self, forKey: .fields)
            customDecoder = try container.decodeIfPresent(Bool.self, forKey: .customDecoder) ?? false
        }
    }

    private struct File: Decodable {
        let picoclaw_version: String
        let picoclaw_commit: String
        let config_version: Int
        let root: String
        let secret_names: [String]
        let channel_types: [String]
        let singleton_channel_types: [String]
        let structs: [String: Struct]
    }

    /// The schema compiled into this binary.
    public static let shipped: PicoClawSchema = {
        do {
            return try PicoClawSchema(json: Data(PackageResources.picoclaw_schema_json))
        } catch {
            preconditionFailure("the compiled-in PicoClaw schema does not parse: \(error)")
        }
    }()

    /// A schema from the generator's JSON.
    init(json: Data) throws {
        let file = try JSONDecoder().decode(File.self, from: json)
        picoclawVersion = file.picoclaw_version
        picoclawCommit = file.picoclaw_commit
        configVersion = file.config_version
        secretNames = Set(file.secret_names)
        channelTypes = Set(file.channel_types)
        singletonChannelTypes = Set(file.singleton_channel_types)
        root = file.root
        structs = file.structs
    }

    /// A field's or element's expected type, parsed from the generator's notation.
    indirect enum FieldType: Equatable, Sendable {
        case string, integer, number, bool, any
        /// A string PicoClaw treats as a credential.
        case secret
        case array(FieldType)
        /// An object with free-form keys.
        case map(FieldType)
        case object(String)
        /// A type with its own decoder: checked as the wrapped type only when shaped like it.
        case custom(FieldType)

        init(_ notation: Substring) {
            switch notation.first {
            case "[": self = .array(FieldType(notation.dropFirst()))
            case "{": self = .map(FieldType(notation.dropFirst()))
            case "~": self = .custom(FieldType(notation.dropFirst()))
            default:
                switch notation {
                case "string": self = .string
                case "integer": self = .integer
                case "number": self = .number
                case "bool": self = .bool
                case "secret": self = .secret
                case "any": self = .any
                default: self = .object(String(notation))
                }
            }
        }

        /// How messages name it.
        var description: String {
            switch self {
            case .string, .secret: "a string"
            case .integer: "a whole number"
            case .number: "a number"
            case .bool: "true or false"
            case .any: "any value"
            case .array: "a list"
            case .map, .object: "a mapping"
            case .custom(let wrapped): wrapped.description
            }
        }
    }

    /// The type of the whole config document.
    var rootType: FieldType { .object(root) }

    /// The fields of struct `name` (empty for an unknown name).
    func fields(of name: String) -> [String: String] {
        structs[name]?.fields ?? [:]
    }

    /// Whether struct `name` decodes itself.
    func hasCustomDecoder(_ name: String) -> Bool {
        structs[name]?.customDecoder ?? false
    }

    /// The closest known key to `key` among `candidates`, when one is close enough to be a typo
    /// (or differs only in case or separators).
    static func suggestion(for key: String, among candidates: some Sequence<String>) -> String? {
        let folded = fold(key)
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            if fold(candidate) == folded { return candidate }
            let distance = editDistance(Array(key.lowercased().utf8), Array(candidate.utf8))
            if distance < best?.distance ?? Int.max { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(1, min(3, key.count / 3)) else { return nil }
        return best.name
    }

    private static func fold(_ key: String) -> String {
        String(key.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    /// Levenshtein distance over bytes.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
