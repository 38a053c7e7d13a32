/// Durations as the fleet spec writes them: a number and a unit (`500ms`, `90s`, `15m`, `12h`,
/// `30d`), or several in a row (`1h30m`). Units are required, so `wait: 10` is not silently read
/// as ten seconds or ten minutes.
public enum DurationText {
    /// The duration in seconds, or nil when `text` is not a duration. Numbers may have a fraction
    /// (`1.5h`); the result is never negative.
    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number.first != ".", number.last != ".",
                  number.filter({ $0 == "." }).count <= 1, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            guard let factor = factors[String(unit)] else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * factor
        }
        return total.isFinite ? total : nil
    }

    private static let factors: [String: Double] = [
        "ms": 0.001, "s": 1, "m": 60, "h": 3_600, "d": 86_400,
    ]

    /// `25%` as 25, or nil when `text` is not a percentage in (0, 100].
    static func percent(_ text: String) -> Double? {
        guard text.hasSuffix("%") else { return nil }
        let number = text.dropLast()
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              number.first != ".", number.last != ".",
              let value = Double(number), value > 0, value <= 100 else { return nil }
        return value
    }
}
