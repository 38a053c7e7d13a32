/// The protocol's error body, `{"error": {"code": ..., "message": ...}}`, sent on every refusal.
struct ErrorResponse {
    /// Stable code clients branch on (for example `token_expired`).
    var code: String
    /// Explanation for people.
    var message: String

    /// Decodes the error body; throws `.invalidField` when the shape is not the protocol's.
    init(json: JSONValue) throws(NodeError) {
        guard let error = json["error"] else { throw .invalidField("missing field \"error\"") }
        code = try error.requiredString("code")
        message = try error.requiredString("message")
    }
}
