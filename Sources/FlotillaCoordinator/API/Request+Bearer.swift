import HTTPTypes
import Hummingbird

extension Request {
    /// What follows `Authorization: Bearer `, as sent (admin token, metrics token, gateway key).
    var bearerToken: String? {
        guard let header = headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst("Bearer ".count))
    }
}
