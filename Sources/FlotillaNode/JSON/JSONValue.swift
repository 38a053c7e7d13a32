/// A parsed JSON document. Strings are Swift `String`s built from validated UTF-8; keys are
/// compared byte-wise (no Unicode tables needed, so this works in Embedded Swift).
/// Object members keep document order; duplicate keys are rejected by the parser.
enum JSONValue {
    case null
    case bool(Bool)
    /// An integer literal that fits in Int64 (no fraction, no exponent).
    case int(Int64)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The member named `key` when this is an object, else nil.
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key.utf8.elementsEqual(key.utf8) {
            return member.value
        }
        return nil
    }

    /// The string payload, or nil for any other kind.
    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number as Int64 when it is an integer (or a double with an exact integer value).
    var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value):
            guard value.isFinite, value >= -9.2e18, value <= 9.2e18 else { return nil }
            let integer = Int64(value)
            return Double(integer) == value ? integer : nil
        default: return nil
        }
    }

    /// Any number as Double.
    var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The boolean payload, or nil for any other kind.
    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements when this is an array, else nil.
    var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// Required string member; throws `.invalidField` naming the key otherwise.
    func requiredString(_ key: String) throws(NodeError) -> String {
        guard let value = self[key]?.stringValue else {
            throw .invalidField(Text.join("missing or non-string field \"", key, "\""))
        }
        return value
    }

    /// Required integer member; throws `.invalidField` naming the key otherwise.
    func requiredInt(_ key: String) throws(NodeError) -> Int64 {
        guard let value = self[key]?.intValue else {
            throw .invalidField(Text.join("missing or non-integer field \"", key, "\""))
        }
        return value
    }

    /// Required boolean member; throws `.invalidField` naming the key otherwise.
    func requiredBool(_ key: String) throws(NodeError) -> Bool {
        guard let value = self[key]?.boolValue else {
            throw .invalidField(Text.join("missing or non-boolean field \"", key, "\""))
        }
        return value
    }

    /// Optional number member: nil when absent or null; throws when present with another type.
    func optionalDouble(_ key: String) throws(NodeError) -> Double? {
        guard let value = self[key] else { return nil }
        if case .null = value { return nil }
        guard let number = value.doubleValue else { throw .invalidField(Text.join("field \"", key, "\" is not a number")) }
        return number
    }

    /// Optional integer member: nil when absent or null; throws when present with another type.
    func optionalInt(_ key: String) throws(NodeError) -> Int64? {
        guard let value = self[key] else { return nil }
        if case .null = value { return nil }
        guard let number = value.intValue else { throw .invalidField(Text.join("field \"", key, "\" is not an integer")) }
        return number
    }
}

/// One `"key": value` pair of a JSON object.
struct JSONMember {
    var key: String
    var value: JSONValue

    /// Creates a member; used by the wire types to build request bodies.
    init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}
