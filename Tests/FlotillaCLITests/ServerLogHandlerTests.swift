import Foundation
import Logging
import Testing

@testable import FlotillaCLI

/// The coordinator's log lines: metadata set on a logger reaches the line that is written, and
/// lines below the level are not written.
@Suite struct ServerLogHandlerTests {
    @Test func metadataSetOnTheLoggerIsWrittenWithTheLineAndLevelsFilter() throws {
        let marker = "marker-\(UInt64.random(in: 0...UInt64.max))"
        let written = try Self.standardError {
            var logger = Logger(label: "flotilla.test") { ServerLogHandler(label: $0, level: .info) }
            logger[metadataKey: "request_id"] = "r-1"
            logger[metadataKey: "node"] = "board-01"
            logger.debug("below the level \(marker)")
            logger.info("written \(marker)", metadata: ["calls": "3"])
            logger[metadataKey: "node"] = nil
            logger.warning("second \(marker)")
        }
        let lines = written.split(separator: "\n").map(String.init).filter { $0.contains(marker) }
        try #require(lines.count == 2, "\(written)")
        #expect(lines[0].contains("info flotilla.test:") && lines[0].contains("written \(marker)"))
        #expect(lines[0].contains("request_id=r-1") && lines[0].contains("node=board-01") && lines[0].contains("calls=3"))
        #expect(lines[1].contains("warning flotilla.test:") && lines[1].contains("request_id=r-1") && !lines[1].contains("node="))
    }

    /// What `body` writes to standard error (file descriptor 2, redirected to a file meanwhile).
    static func standardError(_ body: () -> Void) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(file >= 0)
        let saved = dup(2)
        fflush(nil)
        dup2(file, 2)
        body()
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}
