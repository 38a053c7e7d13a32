import FlotillaProtocol

/// A strict single-pass reader for heartbeat bodies of the usual shape, because Foundation's
/// generic JSONDecoder was the largest share of a heartbeat's CPU time.
///
/// It returns nil — and the caller falls back to `JSONDecoder` — for anything it does not handle
/// exactly as `JSONDecoder` would: string escapes, integers written with a fraction or exponent,
/// a missing required key, or any syntax error. So the result for every input is the one the
/// Codable path gives, which the tests check on both accepted and refused bodies.
struct HeartbeatDecoder {
    private let bytes: [UInt8]
    private var i = 0

    static func decode(_ bytes: [UInt8]) -> HeartbeatRequest? {
        var decoder = HeartbeatDecoder(bytes: bytes)
        return decoder.document()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func document() -> HeartbeatRequest? {
        var r = HeartbeatRequest()
        // A repeated key goes to the slow path rather than guessing which one JSONDecoder keeps.
        var seen: UInt32 = 0
        func first(_ bit: UInt32) -> Bool {
            defer { seen |= 1 << bit }
            return seen & (1 << bit) == 0
        }
        let ok = object { key, d in
            switch key {
            case "sequence": return first(0) && d.int(into: &r.sequence)
            case "agent_version": return first(1) && d.string(into: &r.agentVersion)
            case "arch": return first(2) && d.string(into: &r.arch)
            case "kernel": return first(3) && d.string(into: &r.kernel)
            case "uptime_seconds": return first(4) && d.double(into: &r.uptimeSeconds)
            case "load_1m": return first(5) && d.double(into: &r.load1m)
            case "load_5m": return first(6) && d.double(into: &r.load5m)
            case "load_15m": return first(7) && d.double(into: &r.load15m)
            case "cpu_percent": return first(8) && d.double(into: &r.cpuPercent)
            case "mem_total_bytes": return first(9) && d.int(into: &r.memTotalBytes)
            case "mem_available_bytes": return first(10) && d.int(into: &r.memAvailableBytes)
            case "disk_total_bytes": return first(11) && d.int(into: &r.diskTotalBytes)
            case "disk_free_bytes": return first(12) && d.int(into: &r.diskFreeBytes)
            case "temperatures": return first(13) && d.temperatures(into: &r.temperatures)
            case "local_model": return first(14) && d.string(into: &r.localModel)
            default: return d.skipValue()
            }
        }
        skipWhitespace()
        return ok && i == bytes.count ? r : nil
    }

    private mutating func temperatures(into target: inout [TemperatureReading]?) -> Bool {
        if literal("null") {
            target = nil
            return true
        }
        guard consume(UInt8(ascii: "[")) else { return false }
        var list: [TemperatureReading] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) {
            target = list
            return true
        }
        repeat {
            var zone: String?
            var type: String?
            var celsius: Double?
            // A repeated key goes to the slow path here too (found by Fuzz/HeartbeatFuzzTarget).
            var seen: UInt8 = 0
            func first(_ bit: UInt8) -> Bool {
                defer { seen |= 1 << bit }
                return seen & (1 << bit) == 0
            }
            let ok = object { key, d in
                switch key {
                case "zone": return first(0) && d.string(into: &zone)
                case "type": return first(1) && d.string(into: &type)
                case "celsius": return first(2) && d.double(into: &celsius)
                default: return d.skipValue()
                }
            }
            guard ok, let zone, let celsius else { return false }
            list.append(TemperatureReading(zone: zone, type: type, celsius: celsius))
            skipWhitespace()
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "]")) else { return false }
        target = list
        return true
    }

    // MARK: Grammar

    /// Reads `{ "key": value, ... }`, handing each key to `member`, which must consume the value.
    private mutating func object(_ member: (String, inout HeartbeatDecoder) -> Bool) -> Bool {
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            skipWhitespace()
            guard let key = plainString() else { return false }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard member(key, &self) else { return false }
            skipWhitespace()
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    private mutating func string(into target: inout String?) -> Bool {
        if literal("null") {
            target = nil
            return true
        }
        guard let value = plainString() else { return false }
        target = value
        return true
    }

    private mutating func double(into target: inout Double?) -> Bool {
        if literal("null") {
            target = nil
            return true
        }
        guard let text = numberText(), let value = Double(text), value.isFinite else { return false }
        target = value
        return true
    }

    private mutating func int(into target: inout Int64?) -> Bool {
        if literal("null") {
            target = nil
            return true
        }
        guard let text = numberText(), let value = Int64(text) else { return false }
        target = value
        return true
    }

    /// A string without escapes or control characters; anything else goes to the slow path.
    private mutating func plainString() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                let value = String(validating: bytes[start..<i], as: UTF8.self)
                i += 1
                return value
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            i += 1
        }
        return nil
    }

    /// The text of a number in RFC 8259 grammar.
    private mutating func numberText() -> String? {
        let start = i
        _ = consume(UInt8(ascii: "-"))
        guard i < bytes.count, isDigit(bytes[i]) else { return nil }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            // Foundation's JSONDecoder refuses some valid exponents after a bare zero (`0e2`,
            // found by the heartbeat fuzz target): such a body is left to it, so both paths
            // always agree.
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") { return nil }
        } else {
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if consume(UInt8(ascii: ".")) {
            guard i < bytes.count, isDigit(bytes[i]) else { return nil }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard i < bytes.count, isDigit(bytes[i]) else { return nil }
            while i < bytes.count, isDigit(bytes[i]) { i += 1 }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    /// Skips any JSON value (unknown keys are allowed, as with Codable).
    private mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 32, i < bytes.count else { return false }
        switch bytes[i] {
        case UInt8(ascii: "\""): return plainString() != nil
        case UInt8(ascii: "{"):
            return object { _, d in d.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                skipWhitespace()
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return numberText() != nil
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard i + count <= bytes.count else { return false }
        for k in 0..<count where bytes[i + k] != word.utf8Start[k] { return false }
        i += count
        return true
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    private mutating func skipWhitespace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
