// libFuzzer target for the coordinator's heartbeat fast path, compiled with FlotillaProtocol's
// sources and Sources/FlotillaCoordinator/Heartbeats/HeartbeatDecoder.swift by scripts/fuzz.sh.
// The property is the decoder's promise: whatever it accepts, JSONDecoder reads identically.
import FlotillaProtocol
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let fast = HeartbeatDecoder.decode(bytes) else { return 0 }
    guard let slow = try? JSONDecoder().decode(HeartbeatRequest.self, from: Data(bytes)) else {
        fatalError("the fast path accepted a body JSONDecoder refuses: \(String(decoding: bytes, as: UTF8.self))")
    }
    precondition(fast == slow, "the fast path and JSONDecoder disagree on: \(String(decoding: bytes, as: UTF8.self))")
    return 0
}
