import Foundation

/// RFC 3339 formatting used on the wire (UTC, whole seconds).
public enum Timestamps {
    /// Formats `date` as `2026-11-24T18:00:00Z`.
    public static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds.
    public static func parse(_ string: String) -> Date? {
        if let date = try? Date(string, strategy: .iso8601) { return date }
        return try? Date(string, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
