import NIOCore
import PostgresNIO

/// A statement built in pieces (optional filters, `IN` lists), its values bound as `$n`.
struct PostgresSQL {
    private(set) var text: String
    private var binds = PostgresBindings()

    init(_ text: String = "") {
        self.text = text
    }

    /// Appends text as it is (never a value from outside: those go through `bind`).
    mutating func append(_ more: String) {
        text += more
    }

    /// Binds `value` and appends its placeholder.
    mutating func bind(_ value: some PostgresDynamicTypeEncodable) {
        binds.append(value)
        text += "$\(binds.count)"
    }

    /// Binds an optional value (NULL for nil) and appends its placeholder.
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value?) {
        binds.append(value)
        text += "$\(binds.count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}
