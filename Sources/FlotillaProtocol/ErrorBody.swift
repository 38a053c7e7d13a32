/// The JSON body of every error response: `{"error": {"code": ..., "message": ...}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    /// The code and human-readable explanation.
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: APIErrorCode, message: String) {
        self.error = Detail(code: code.rawValue, message: message)
    }

    /// The typed code, or nil when the server sent a code this client does not know.
    public var code: APIErrorCode? { APIErrorCode(rawValue: error.code) }
}
