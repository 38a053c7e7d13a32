import Foundation

/// UTC calendar days and months for usage roll-ups, computed arithmetically (no formatter or
/// calendar object on the metering path).
package enum UTCCalendar {
    /// `2026-11-30` for `date`.
    package static func day(_ date: Date) -> String {
        let (y, m, d) = civil(daysSinceEpoch: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
        guard (0...9999).contains(y) else { return String(format: "%04d-%02d-%02d", y, m, d) }
        // Written digit by digit: every usage record is rolled up under its day, and
        // `String(format:)` was 1% of the gateway's stacks under load.
        return String(unsafeUninitializedCapacity: 10) { bytes in
            func put(_ value: Int, endingAt end: Int, width: Int) {
                var rest = value
                for position in stride(from: end - 1, through: end - width, by: -1) {
                    bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(y, endingAt: 4, width: 4)
            bytes[4] = UInt8(ascii: "-")
            put(m, endingAt: 7, width: 2)
            bytes[7] = UInt8(ascii: "-")
            put(d, endingAt: 10, width: 2)
            return 10
        }
    }

    /// Midnight UTC of `date`'s day.
    static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Midnight UTC of the first day of `date`'s month.
    package static func startOfMonth(_ date: Date) -> Date {
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let (_, _, d) = civil(daysSinceEpoch: days)
        return Date(timeIntervalSince1970: Double(days - (d - 1)) * 86_400)
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(daysSinceEpoch: Int) -> (Int, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
