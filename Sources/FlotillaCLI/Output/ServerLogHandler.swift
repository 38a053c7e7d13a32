import Logging

/// The coordinator's log handler: `StreamLogHandler`'s lines on standard error, with metadata
/// set on a logger kept as it is until a line is written.
///
/// `StreamLogHandler` formats its metadata each time it is set. Hummingbird sets a request id on
/// every request's logger, so under load that formatting ran once per call (1.4% of the
/// coordinator's stacks in a gateway profile, see docs/benchmarks.md) for lines that, at the
/// default level, are almost never written.
struct ServerLogHandler: LogHandler {
    /// Writes the lines; given the metadata only when it writes one.
    private var writer: any LogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String, level: Logger.Level) {
        var stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = level
        writer = stream
    }

    /// Writes through `writer` (tests record what it is given).
    init(writer: any LogHandler) {
        self.writer = writer
    }

    var logLevel: Logger.Level {
        get { writer.logLevel }
        set { writer.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { writer.metadataProvider }
        set { writer.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = writer
        line.metadata = metadata
        line.log(event: event)
    }
}
