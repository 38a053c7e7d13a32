/// Body of `POST /v1/release/report`: where this node stands with one release.
struct ReleaseReport {
    var version: Int64
    /// `downloading`, `applied`, `failed` or `rolled_back`.
    var status: String
    /// A `ReleaseFailure` code (or `download_failed` / `apply_failed`); nil on success.
    var errorCode: String?
    /// Human-readable detail.
    var message: String
    /// `passed`, `skipped` or `failed` once the runtime was reloaded; nil before.
    var health: String?

    /// Creates a report.
    init(version: Int64, status: String, errorCode: String? = nil, message: String, health: String? = nil) {
        self.version = version
        self.status = status
        self.errorCode = errorCode
        self.message = message
        self.health = health
    }

    /// The JSON body; absent optional fields are left out.
    func json() -> JSONValue {
        var members = [JSONMember("version", .int(version)), JSONMember("status", .string(status))]
        if let errorCode { members.append(JSONMember("error_code", .string(errorCode))) }
        members.append(JSONMember("message", .string(message)))
        if let health { members.append(JSONMember("health", .string(health))) }
        return .object(members)
    }
}
