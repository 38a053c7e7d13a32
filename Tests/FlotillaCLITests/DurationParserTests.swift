import Testing

@testable import FlotillaCLI

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("90s", 90.0), ("15m", 900), ("24h", 86_400), ("7d", 604_800), ("1h30m", 5400), ("2", 2), ("0", 0),
        ("1w", 604_800), ("1.5h", 5400), ("1d12h", 129_600),
    ])
    func parsesDurations(_ text: String, _ seconds: Double) {
        #expect(DurationParser.seconds(text) == seconds)
    }

    @Test(arguments: ["", "5x", "h", "1h30", "-5", "-5s", "s5", "1 h", "inf", "nan", "infinity", "1e400"])
    func rejectsMalformedDurations(_ text: String) {
        #expect(DurationParser.seconds(text) == nil)
    }
}
