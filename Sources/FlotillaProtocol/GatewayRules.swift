import Foundation

/// Naming rules of the gateway configuration, checked by the fleet loader and again by the
/// coordinator (the admin API is a trust boundary of its own).
public enum GatewayRules {
    /// Longest model name callers may use, and longest upstream model id.
    public static let maxModelNameLength = 128
    /// Prices accepted, in millionths of a USD per million tokens: up to 10,000 USD, which
    /// catches a price written per token.
    public static let priceMicros: ClosedRange<Int64> = 0...(10_000 * 1_000_000)
    /// `max_output` tokens accepted for a model.
    public static let maxOutputTokens: ClosedRange<Int64> = 1...10_000_000
    /// A budget limit, in billionths of a USD: more than 0, at most a billion USD.
    public static let budgetNanos: ClosedRange<Int64> = 1...(1_000_000_000 * 1_000_000_000)
    /// A rate limit (per minute, or calls in flight).
    public static let rateLimit: ClosedRange<Int64> = 1...1_000_000_000

    /// 1–128 of `[A-Za-z0-9._:/-]`, starting with a letter or digit: what providers' model ids
    /// look like (`gpt-4o-mini`, `claude-3-5-haiku-latest`, `meta-llama/Llama-3.1-8B`).
    public static func isValidModelName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maxModelNameLength else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        guard alnum(first) else { return false }
        let punctuation: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "-")]
        return bytes.allSatisfy { alnum($0) || punctuation.contains($0) }
    }
}

/// Rules for a provider's `base_url`: the gateway sends the provider key there, so it must be
/// HTTPS, or plain HTTP to this machine only (a local model server on loopback). No user info,
/// query or fragment; the coordinator never follows redirects away from it.
public enum ProviderURL {
    /// Why `text` is not acceptable, or nil.
    public static func problem(_ text: String) -> String? {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            return "'\(text)' is not an absolute URL (e.g. https://api.openai.com/v1)"
        }
        guard url.user == nil, url.password == nil else { return "must not contain a user name or password (keys go in the vault)" }
        guard url.query == nil, url.fragment == nil else { return "must not have a query or fragment" }
        switch scheme {
        case "https": return nil
        case "http":
            return isLoopback(host) ? nil : "plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https"
        default:
            return "scheme must be https (or http to loopback), not '\(scheme)'"
        }
    }

    /// Without a trailing slash, so endpoint paths append cleanly.
    public static func normalized(_ text: String) -> String {
        var result = text
        while result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// `localhost`, `::1` or an IPv4 literal in 127.0.0.0/8.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy({ $0 >= "0" && $0 <= "9" }) }) else { return false }
        return parts.allSatisfy { Int($0)! <= 255 } && parts[0] == "127"
    }
}
