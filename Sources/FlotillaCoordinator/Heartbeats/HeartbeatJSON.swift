import FlotillaProtocol
import Foundation
import NIOCore
import Synchronization

/// Hand-written JSON for the two encodings on the heartbeat hot path (the response and the
/// temperatures column), which Foundation's generic encoder made a measurable share of the cost
/// of a heartbeat. The output is what `JSONEncoder` with sorted keys produces for the same values;
/// tests compare the two.
enum HeartbeatJSON {
    /// The RFC 3339 text of the current second, formatted once per second rather than per request.
    private static let clock = Mutex<(second: Int, text: String)>((-1, ""))

    static func serverTime(_ now: Date) -> String {
        let second = Int(now.timeIntervalSince1970)
        return clock.withLock { cached in
            if cached.second != second { cached = (second, Timestamps.rfc3339(now)) }
            return cached.text
        }
    }

    /// `{"gateway_key_id":…,"heartbeat_interval_seconds":…,"renew_certificate":…,"server_time":"…","status":"…"}`
    static func response(_ response: HeartbeatResponse) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(160)
        buffer.writeString(#"{"gateway_key_id":"#)
        if let id = response.gatewayKeyID { writeString(id, to: &buffer) } else { buffer.writeString("null") }
        buffer.writeString(#","heartbeat_interval_seconds":"#)
        buffer.writeString(String(response.heartbeatIntervalSeconds))
        buffer.writeString(response.renewCertificate ? #","renew_certificate":true,"server_time":"# : #","renew_certificate":false,"server_time":"#)
        writeString(response.serverTime, to: &buffer)
        buffer.writeString(#","status":"#)
        writeString(response.status.rawValue, to: &buffer)
        buffer.writeString("}")
        return buffer
    }

    /// `[{"celsius":…,"type":"…","zone":"…"},…]` (no `type` key when the zone has none).
    static func temperatures(_ readings: [TemperatureReading]) -> String {
        var buffer = ByteBuffer()
        buffer.writeString("[")
        for (i, t) in readings.enumerated() {
            buffer.writeString(i == 0 ? #"{"celsius":"# : #",{"celsius":"#)
            buffer.writeString(number(t.celsius))
            if let type = t.type {
                buffer.writeString(#","type":"#)
                writeString(type, to: &buffer)
            }
            buffer.writeString(#","zone":"#)
            writeString(t.zone, to: &buffer)
            buffer.writeString("}")
        }
        buffer.writeString("]")
        return String(buffer: buffer)
    }

    /// Shortest round-tripping decimal text, as Swift's `description` gives; integral values
    /// without a fraction, like JSONEncoder.
    static func number(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    /// A JSON string literal with the escapes RFC 8259 requires.
    static func writeString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeString("\\\\")
            case 0x0A: buffer.writeString("\\n")
            case 0x0D: buffer.writeString("\\r")
            case 0x09: buffer.writeString("\\t")
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0f)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
