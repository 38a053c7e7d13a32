import Foundation
import FlotillaProtocol
import Testing
import Yams
@testable import FlotillaFleet

/// Durations, percentages and how YAML scalars become JSON config values.
@Suite struct YAMLValueTests {
    @Test(arguments: [("90s", 90.0), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("500ms", 0.5),
                      ("1h30m", 5_400), ("1.5h", 5_400), ("0s", 0), ("2s", 2)])
    func durationsParse(text: String, seconds: Double) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "10", "s", "-5s", "5x", "1.s", ".5s", "1..5s", "5 s", "1h 30m", "5S"])
    func badDurationsAreRejected(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test func percentagesParse() {
        #expect(DurationText.percent("25%") == 25)
        #expect(DurationText.percent("100%") == 100)
        #expect(DurationText.percent("12.5%") == 12.5)
        for bad in ["0%", "101%", "%", "25", "-5%", "5 %", ".5%"] {
            #expect(DurationText.percent(bad) == nil, "\(bad)")
        }
    }

    /// The config of group `demo` (a command runtime, whose config has no schema) when `config`
    /// is its YAML body (indented four spaces).
    static func config(_ config: String) throws -> JSONDocument {
        let yaml = "version: 1\ngroups:\n  demo:\n    runtime: command\n    config:\n" + config.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n") + "\n"
        return try #require(try FleetSpec.parse(yaml: yaml, file: "fleet.yaml").groups.first).config
    }

    @Test func configKeyOrderIsPreserved() throws {
        let config = try Self.config("""
            zeta: 1
            alpha:
              second: a
              first: b
            mid: [3, 2, 1]
            """)
        guard case .object(let members) = config else {
            Issue.record("expected an object")
            return
        }
        #expect(members.map(\.key) == ["zeta", "alpha", "mid"])
        #expect(config["alpha"] == .object([.init("second", .string("a")), .init("first", .string("b"))]))
        #expect(config["mid"] == .array([.int(3), .int(2), .int(1)]))
    }

    @Test func scalarsFollowTheCoreSchema() throws {
        let config = try Self.config("""
            quoted_float: "1.0"
            single_quoted: '2'
            plain_float: 1.0
            plain_int: 42
            negative: -7
            hex: 0x1F
            octal: 0o17
            exponent: 1e3
            yes_is_text: yes
            on_is_text: on
            flag: true
            upper_flag: FALSE
            nothing: null
            tilde: ~
            empty:
            tagged_text: !!str 5
            tagged_float: !!float 1
            block: |
              line one
            version_like: 1.2.3
            time_like: 12:30
            """)
        let expected: [(String, JSONDocument)] = [
            ("quoted_float", .string("1.0")), ("single_quoted", .string("2")), ("plain_float", .double(1.0)),
            ("plain_int", .int(42)), ("negative", .int(-7)), ("hex", .int(31)), ("octal", .int(15)),
            ("exponent", .double(1000)), ("yes_is_text", .string("yes")), ("on_is_text", .string("on")),
            ("flag", .bool(true)), ("upper_flag", .bool(false)), ("nothing", .null), ("tilde", .null), ("empty", .null),
            ("tagged_text", .string("5")), ("tagged_float", .double(1)), ("block", .string("line one\n")),
            ("version_like", .string("1.2.3")), ("time_like", .string("12:30")),
        ]
        for (key, value) in expected {
            #expect(config[key] == value, "\(key)")
        }
    }

    @Test func unrepresentableValuesAreProblems() throws {
        #expect(throws: FleetSpecError.invalid(file: "fleet.yaml", line: 6,
                                               message: "groups.demo.config.big: integer '99999999999999999999' is out of range")) {
            try Self.config("big: 99999999999999999999")
        }
        #expect(throws: FleetSpecError.invalid(file: "fleet.yaml", line: 6,
                                               message: "groups.demo.config.inf: '.inf' cannot be represented in JSON")) {
            try Self.config("inf: .inf")
        }
        #expect(throws: FleetSpecError.invalid(file: "fleet.yaml", line: 6,
                                               message: "groups.demo.config.custom: unsupported tag '!custom'")) {
            try Self.config("custom: !custom x")
        }
    }

    @Test func aliasesExpand() throws {
        let config = try Self.config("""
            defaults: &d {max_tokens: 5}
            copy: *d
            """)
        #expect(config["copy"] == .object([.init("max_tokens", .int(5))]))
    }

    @Test func integerExtremes() throws {
        let config = try Self.config("low: -9223372036854775808\nhigh: 9223372036854775807")
        #expect(config["low"] == .int(.min))
        #expect(config["high"] == .int(.max))
    }

    @Test func errorRendering() {
        let one = FleetSpecError.invalid(file: "fleet/fleet.yaml", line: 12, message: "groups.demo.skills[1]: unknown skill 'gretter'")
        #expect(one.description == "fleet/fleet.yaml:12: groups.demo.skills[1]: unknown skill 'gretter'")
        let noLine = FleetSpecError.invalid(file: "fleet/skills/x/run", line: nil, message: "symlinks are not allowed in skills")
        #expect(noLine.description == "fleet/skills/x/run: symlinks are not allowed in skills")
        let unreadable = FleetSpecError.unreadable(path: "fleet/fleet.yaml", reason: "permission denied")
        #expect(unreadable.description == "fleet/fleet.yaml: cannot read: permission denied")
        let combined = FleetSpecError.combining([one, noLine, FleetSpecError.syntax(file: "fleet/fleet.yaml", line: 3, message: "bad")])
        #expect(combined?.description == """
            fleet/fleet.yaml:3: invalid YAML: bad
            fleet/fleet.yaml:12: groups.demo.skills[1]: unknown skill 'gretter'
            fleet/skills/x/run: symlinks are not allowed in skills
            """)
        #expect(combined?.problems.count == 3)
        #expect(FleetSpecError.combining([one]) == one)
        #expect(FleetSpecError.combining([]) == nil)
    }
}
