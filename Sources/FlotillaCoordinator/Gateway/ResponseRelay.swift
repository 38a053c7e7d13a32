import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Streams a provider's 2xx answer to the caller and meters it.
///
/// Bytes go out as they arrive, except what `ResponseMeter` holds back: the caller gets its last
/// byte (or terminal event) only after the call's usage record is durable, so a crash can never
/// lose the record of an answer someone received. Every other ending is charged too: a caller
/// that goes away (its write fails; the provider request is cancelled at once), a provider that
/// dies, stalls past the idle timeout or sends an error event mid-stream.
struct ResponseRelay: Sendable {
    let call: GatewayAPI.Call
    let upstream: HTTPClientResponse
    let ledger: any UsageLedger
    let logger: Logger

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let request = call.request!
        let route = call.route!
        var meter = ResponseMeter(kind: route.kind, stream: request.stream, callerWantsStreamUsage: request.callerWantsStreamUsage)
        var firstByte: Duration?
        var callerGone = false
        var upstreamFailure: CoordinatorError?
        do {
            for try await chunk in upstream.body {
                if firstByte == nil { firstByte = ContinuousClock.now - call.started }
                let out = meter.feed(chunk)
                guard out.readableBytes > 0 else { continue }
                do {
                    try await writer.write(out)
                } catch {
                    callerGone = true
                    break
                }
            }
        } catch {
            upstreamFailure = UpstreamClient.describeMidAnswer(error, provider: route.provider)
        }
        let tail = meter.finish()
        if upstreamFailure == nil, !callerGone, request.stream, !meter.sawTerminal, meter.reported == nil {
            upstreamFailure = CoordinatorError(.upstreamError, "provider '\(route.provider)' ended the stream early")
        }
        let (usage, source) = meter.charge(estimatedInput: request.estimatedInputTokens)
        let outcome: UsageOutcome =
            callerGone ? .clientCancelled : (upstreamFailure != nil || meter.sawErrorEvent) ? .upstreamError : .ok
        let record = call.record(
            status: Int(upstream.status.code), outcome: outcome, usage: usage, source: source, ttfb: firstByte,
            errorCode: upstreamFailure?.code.rawValue ?? (meter.sawErrorEvent ? "upstream_stream_error" : nil)
        )
        try await ledger.record(record)
        if callerGone {
            logger.debug("gateway caller went away", metadata: ["request_id": "\(call.requestID)"])
            return
        }
        if let upstreamFailure, request.stream {
            // Tell the client in its SDK's terms rather than ending the stream silently.
            try await writer.write(Self.errorEvent(upstreamFailure, shape: call.shape))
        } else if upstreamFailure == nil {
            try await writer.write(tail)
        } else {
            // A JSON answer cut short: the caller must not see a truncated body as complete.
            throw upstreamFailure!
        }
        try await writer.finish(nil)
    }

    /// A server-sent event that makes the caller's SDK raise: OpenAI's SDK raises on a chunk with
    /// an `error` key (`openai-python`: `src/openai/_streaming.py`); Anthropic's on
    /// `event: error` (`anthropic-sdk-python`: `src/anthropic/_streaming.py`).
    static func errorEvent(_ error: CoordinatorError, shape: GatewayAPIShape) -> ByteBuffer {
        let body = (try? JSONSerialization.data(withJSONObject: shape.errorBody(error.code, error.message), options: [.sortedKeys])) ?? Data()
        var buffer = ByteBuffer()
        if shape == .anthropic { buffer.writeString("event: error\n") }
        buffer.writeString("data: ")
        buffer.writeBytes(body)
        buffer.writeString("\n\n")
        return buffer
    }
}
