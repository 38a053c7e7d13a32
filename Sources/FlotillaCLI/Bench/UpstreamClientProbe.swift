import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The gateway's upstream leg on its own: the same chat completion sent to the provider one at a
/// time through AsyncHTTPClient (the client the gateway forwards with, pooled, configured alike)
/// from the benchmark's process. Against the direct side's lean client it shows what the client
/// library costs per call, the part of the gateway's added latency that is neither its TLS hop
/// nor its durable record.
struct UpstreamClientProbe {
    let url: String
    let authorization: String
    let body: String

    /// Sends calls back to back for `seconds`; latencies in µs (unsorted) of the calls after the
    /// first (which opens the connection).
    func measure(seconds: Double) async throws -> ConnectionResult {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.decompression = .disabled
        configuration.tracing.tracer = nil
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var result = ConnectionResult()
        do {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var first = true
            while ContinuousClock.now < deadline {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.headers.add(name: "authorization", value: authorization)
                request.body = .bytes(ByteBuffer(string: body))
                let started = ContinuousClock.now
                let response = try await http.execute(request, deadline: .now() + .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                let elapsed = ContinuousClock.now - started
                guard response.status == .ok else {
                    result.failed += 1
                    continue
                }
                result.acknowledged += 1
                if !first { result.latenciesMicros.append(elapsed.wholeMicroseconds) }
                first = false
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        return result
    }
}
