import CFlotillaSystem

/// logfmt lines on stderr, one per event: `ts=<unix seconds> level=info msg="heartbeat ok" seq=3`.
/// Callers pass only non-secret fields; the token and key material are never handed to the log.
enum Log {
    /// Severity written as the `level` field.
    enum Level {
        case info, warn, error

        var text: String {
            switch self {
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }
    }

    /// Writes an info line.
    static func info(_ message: String, _ fields: [(String, String)] = []) {
        write(.info, message, fields)
    }

    /// Writes a warning line.
    static func warn(_ message: String, _ fields: [(String, String)] = []) {
        write(.warn, message, fields)
    }

    /// Writes an error line carrying the error's stable code and message.
    static func error(_ message: String, _ failure: NodeError, _ fields: [(String, String)] = []) {
        var all: [(String, String)] = [("error", failure.code)]
        if case .rejected(let status, let code, _) = failure {
            all.append(("status", String(status)))
            all.append(("code", code))
        }
        all.append(("detail", failure.message))
        all.append(contentsOf: fields)
        write(.error, message, all)
    }

    /// Formats one line (exposed for tests).
    static func line(_ level: Level, _ message: String, _ fields: [(String, String)], time: Int64) -> [UInt8] {
        var output: [UInt8] = []
        output.append(contentsOf: Text.join("ts=", Text.number(time), " level=", level.text, " msg=").utf8)
        appendValue(message, to: &output, forceQuotes: true)
        for (key, value) in fields {
            output.append(UInt8(ascii: " "))
            output.append(contentsOf: key.utf8)
            output.append(UInt8(ascii: "="))
            appendValue(value, to: &output, forceQuotes: false)
        }
        output.append(0x0A)
        return output
    }

    /// Writes raw text to stderr (used for usage and operator messages).
    static func writeStderr(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            _ = CFlotillaSystem.write(2, buffer.baseAddress, buffer.count)
        }
    }

    /// Writes raw text to stdout.
    static func writeStdout(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { buffer in
            _ = CFlotillaSystem.write(1, buffer.baseAddress, buffer.count)
        }
    }

    private static func write(_ level: Level, _ message: String, _ fields: [(String, String)]) {
        let bytes = line(level, message, fields, time: flotilla_unix_seconds())
        bytes.withUnsafeBytes { buffer in
            _ = CFlotillaSystem.write(2, buffer.baseAddress, buffer.count)
        }
    }

    private static func appendValue(_ value: String, to output: inout [UInt8], forceQuotes: Bool) {
        var needsQuotes = forceQuotes || value.utf8.isEmpty
        for byte in value.utf8 where byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=") {
            needsQuotes = true
        }
        guard needsQuotes else {
            output.append(contentsOf: value.utf8)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(0x5C); output.append(byte)
            case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
            case 0x00..<0x20: output.append(UInt8(ascii: " "))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
