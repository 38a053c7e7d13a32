/// Parses durations such as `90s`, `15m`, `24h`, `7d`, `1h30m` or a bare number of seconds.
public enum DurationParser {
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text), plain.isFinite, plain >= 0 { return plain }
        var total = 0.0
        var number = ""
        var sawUnit = false
        for ch in text {
            if ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            guard let value = Double(number) else { return nil }
            let unit: Double
            switch ch {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            total += value * unit
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }
}

/// Byte sizes: `4MiB`, `512KiB`, `1048576`, also `4M`/`4MB` (binary units throughout).
enum ByteSize {
    static func parse(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1024), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1024), ("MB", 1 << 20), ("GB", 1 << 30),
                                      ("K", 1024), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let number = Int(text.dropLast(suffix.count)), number >= 0 else { return nil }
            return number * factor
        }
        return Int(text)
    }
}
