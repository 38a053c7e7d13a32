/// Message text built out of line. String interpolation and `+` are expanded inline at every use,
/// which in an Embedded build costs hundreds of bytes per message; one call here costs a few dozen.
enum Text {
    /// The pieces concatenated.
    @inline(never)
    static func join(_ a: String, _ b: String, _ c: String = "", _ d: String = "", _ e: String = "") -> String {
        var result = a
        result.append(b)
        result.append(c)
        result.append(d)
        result.append(e)
        return result
    }

    /// `directory/name`.
    @inline(never)
    static func path(_ directory: String, _ name: String) -> String {
        join(directory, "/", name)
    }

    /// Decimal text of an integer.
    @inline(never)
    static func number(_ value: Int64) -> String {
        String(value)
    }
}
