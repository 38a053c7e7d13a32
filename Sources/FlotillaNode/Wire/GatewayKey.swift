/// Checks on a gateway key received from the coordinator before it is written to `gateway.key`.
enum GatewayKey {
    /// `key` when it is 1-256 printable ASCII characters (what a runtime can put in a header).
    static func validated(_ key: String) -> String? {
        let bytes = key.utf8
        guard !bytes.isEmpty, bytes.count <= 256 else { return nil }
        for byte in bytes where byte <= 0x20 || byte >= 0x7F { return nil }
        return key
    }
}
