import CFlotillaSystem

/// The agent's environment variables (PicoClaw's own, such as `PICOCLAW_HOME`, are honoured the
/// way PicoClaw reads them).
enum Environment {
    /// The value of `name`, nil when unset or empty.
    static func value(_ name: String) -> String? {
        guard let pointer = getenv(name) else { return nil }
        let text = String(cString: pointer)
        return text.utf8.isEmpty ? nil : text
    }
}
