import FlotillaProtocol

/// Failures of admin commands, printed as `error: message` with a non-zero exit.
public struct CLIError: Error, CustomStringConvertible, Sendable {
    /// The coordinator's error code when the failure came from the API.
    public var code: String?
    public var message: String

    public init(_ message: String, code: String? = nil) {
        self.message = message
        self.code = code
    }

    public var description: String {
        if let code { return "\(message) (\(code))" }
        return message
    }
}
