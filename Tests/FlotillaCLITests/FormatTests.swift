import Foundation
import Testing

@testable import FlotillaCLI

@Suite struct FormatTests {
    @Test func bytesUseBinaryUnits() {
        #expect(Format.bytes(nil) == "-")
        #expect(Format.bytes(0) == "0B")
        #expect(Format.bytes(512) == "512B")
        #expect(Format.bytes(1023) == "1023B")
        #expect(Format.bytes(1024) == "1.0K")
        #expect(Format.bytes(3277) == "3.2K")
        #expect(Format.bytes(10 * 1024) == "10K")
        #expect(Format.bytes(268_435_456) == "256M")
        #expect(Format.bytes(8_160_437_862) == "7.6G")
        #expect(Format.bytes(20_401_094_656) == "19G")
        #expect(Format.bytes(3 * 1024 * 1024 * 1024 * 1024) == "3.0T")
    }

    @Test func relativeTimes() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(Format.relative(nil, now: now) == "never")
        #expect(Format.relative(now, now: now) == "0s ago")
        #expect(Format.relative(now.addingTimeInterval(-4), now: now) == "4s ago")
        #expect(Format.relative(now.addingTimeInterval(-59), now: now) == "59s ago")
        #expect(Format.relative(now.addingTimeInterval(-60), now: now) == "1m ago")
        #expect(Format.relative(now.addingTimeInterval(-12 * 60 - 30), now: now) == "12m ago")
        #expect(Format.relative(now.addingTimeInterval(-3 * 3600), now: now) == "3h ago")
        #expect(Format.relative(now.addingTimeInterval(-2 * 86_400 - 5), now: now) == "2d ago")
        // A clock slightly ahead does not show a negative age.
        #expect(Format.relative(now.addingTimeInterval(30), now: now) == "0s ago")
    }

    @Test func memoryIsUsedShareOfTotal() {
        #expect(Format.memory(total: nil, available: nil) == "-")
        #expect(Format.memory(total: 0, available: 0) == "-")
        #expect(Format.memory(total: 268_435_456, available: nil) == "256M")
        #expect(Format.memory(total: 268_435_456, available: 134_217_728) == "50% of 256M")
        #expect(Format.memory(total: 8_160_437_862, available: 8_160_437_862) == "0% of 7.6G")
        #expect(Format.memory(total: 1024, available: 0) == "100% of 1.0K")
    }

    @Test func numbers() {
        #expect(Format.number(nil) == "-")
        #expect(Format.number(12.5) == "12.5")
        #expect(Format.number(12.25, decimals: 0) == "12")
        #expect(Format.number(3) == "3.0")
    }

    @Test func dollarsKeepSmallSpendVisible() {
        #expect(Format.usd(0) == "$0")
        #expect(Format.usd(12.345) == "$12.35")
        #expect(Format.usd(0.0421) == "$0.0421")
        #expect(Format.usd(0.0000075) == "$0.000008")
    }

    @Test func byteSizes() {
        #expect(ByteSize.parse("4MiB") == 4 * 1024 * 1024)
        #expect(ByteSize.parse("512KiB") == 512 * 1024)
        #expect(ByteSize.parse("1024") == 1024)
        #expect(ByteSize.parse("4M") == 4 * 1024 * 1024)
        #expect(ByteSize.parse("four") == nil)
        #expect(ByteSize.parse("-1MiB") == nil)
    }

    @Test func textTableAlignsColumns() {
        var table = TextTable(headers: ["A", "LONGER", "Z"])
        table.add(["xxx", "y", "end"])
        table.add(["", "wider-cell", "last"])
        let lines = table.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines == [
            "A    LONGER      Z",
            "xxx  y           end",
            "     wider-cell  last",
        ])
        // The last column is not padded, so no line has trailing spaces.
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test func textTableWithoutRowsIsTheHeader() {
        #expect(TextTable(headers: ["NAME", "GROUP"]).render() == "NAME  GROUP")
    }
}
