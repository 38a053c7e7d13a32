/// PicoClaw's gateway log (`<home>/logs/gateway.log`): zerolog JSON, one object per line, with
/// `level`, `message` and fields such as `error` (pkg/logger, pkg/gateway/gateway.go). Read
/// from where it ended when the agent started watching, so only what PicoClaw wrote since counts.
struct PicoClawLog {
    let path: String
    /// The log's size when watching began.
    let offset: Int64

    /// Starts watching `path` at its current end.
    init(path: String) {
        self.path = path
        offset = (try? FileIO.info(path))?.size ?? 0
    }

    /// What PicoClaw logged since watching began (from the start when the file was replaced by
    /// a shorter one; at most 1 MiB): the first error, as PicoClaw worded it, else whether a line
    /// says "Manual reload completed successfully" (pkg/gateway/gateway.go, logged at info).
    func outcome() -> (failure: String?, reloaded: Bool) {
        let size = (try? FileIO.info(path))?.size ?? 0
        let start = size < offset ? 0 : offset
        guard size > start, let bytes = try? FileIO.read(path, from: start, maxBytes: Int(min(size - start, 1 << 20))) else {
            return (nil, false)
        }
        var reloaded = false
        for line in PicoClawLog.parse(bytes) {
            if PicoClawLog.isError(line) { return (PicoClawLog.describe(line), false) }
            if SystemText.same(line["message"]?.stringValue ?? "", "Manual reload completed successfully") { reloaded = true }
        }
        return (nil, reloaded)
    }

    /// The failure when the log's last line says PicoClaw's last start failed (then nothing was
    /// left running that could write more).
    func lastStartupFailure() -> String? {
        let start = max(0, offset - 64 * 1024)
        guard offset > 0, let bytes = try? FileIO.read(path, from: start, maxBytes: Int(offset - start)),
              let last = PicoClawLog.parse(bytes).last, PicoClawLog.isError(last),
              SystemText.same(last["message"]?.stringValue ?? "", "Gateway startup failed") else { return nil }
        return PicoClawLog.describe(last)
    }

    static func parse(_ bytes: [UInt8]) -> [JSONValue] {
        var lines: [JSONValue] = []
        for line in SystemText.lines(bytes) where line.first == UInt8(ascii: "{") {
            if let value = try? JSONParser(maxBytes: 1 << 20).parse(Array(line)) { lines.append(value) }
        }
        return lines
    }

    static func isError(_ line: JSONValue) -> Bool {
        let level = line["level"]?.stringValue ?? ""
        return SystemText.same(level, "error") || SystemText.same(level, "fatal") || SystemText.same(level, "panic")
    }

    /// `message`, with the `error` field appended when the message does not already carry it.
    static func describe(_ line: JSONValue) -> String {
        let message = line["message"]?.stringValue ?? "PicoClaw logged an error"
        guard let error = line["error"]?.stringValue, !error.utf8.isEmpty else { return message }
        return Text.join(message, ": ", error)
    }
}
