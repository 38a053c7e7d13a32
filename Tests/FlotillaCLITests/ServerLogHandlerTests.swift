import Logging
import Synchronization
import Testing

@testable import FlotillaCLI

/// The coordinator's log lines: metadata set on a logger reaches the line that is written, and
/// lines below the level are not written.
@Suite struct ServerLogHandlerTests {
    /// What the writer was given for each line: its message and the metadata it held then.
    final class Lines: Sendable {
        let written = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    /// A writer that records instead of printing.
    struct Recorder: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var merged = metadata
            merged.merge(event.metadata ?? [:]) { $1 }
            lines.written.withLock { $0.append(("\(event.message)", merged)) }
        }
    }

    @Test func metadataSetOnTheLoggerIsWrittenWithTheLineAndLevelsFilter() {
        let lines = Lines()
        var logger = Logger(label: "flotilla.test") { _ in ServerLogHandler(writer: Recorder(lines: lines)) }
        logger[metadataKey: "request_id"] = "r-1"
        logger[metadataKey: "node"] = "board-01"
        logger.debug("below the level")
        logger.info("written", metadata: ["calls": "3"])
        logger[metadataKey: "node"] = nil
        logger.warning("second")
        let written = lines.written.withLock { $0 }
        #expect(written.map(\.message) == ["written", "second"])
        #expect(written.first?.metadata == ["request_id": "r-1", "node": "board-01", "calls": "3"])
        #expect(written.last?.metadata == ["request_id": "r-1"])
    }

    @Test func theStandardErrorHandlerKeepsItsLevel() {
        var handler = ServerLogHandler(label: "flotilla.test", level: .warning)
        #expect(handler.logLevel == .warning)
        handler.logLevel = .debug
        #expect(handler.logLevel == .debug)
        handler[metadataKey: "k"] = "v"
        #expect(handler.metadata == ["k": "v"])
    }
}
