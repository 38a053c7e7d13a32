import AsyncHTTPClient
import FlotillaProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Streams a provider's 2xx answer to the caller and meters it.
///
/// Bytes go out as they arrive, except what `ResponseMeter` holds back: the caller gets its last
/// byte (or terminal event) only after the call's usage record is durable, so a crash can never
/// lose the record of an answer someone received. Every other ending is charged too:
/// - a caller that goes away mid-stream (its write fails): the provider request is cancelled at
///   once and what was streamed is charged; for a JSON answer the rest is still read (not sent)
///   so the provider's own usage is charged, since the provider has produced it anyway (a caller
///   that vanished while the provider worked is often only noticed here, or not at all when the
///   operating system accepted the answer's bytes: then the call is recorded `ok`, at the
///   provider's own usage);
/// - a caller whose connection was already gone when the answer's headers were written, so the
///   server never started the body: the guard in `deinit` charges an estimate;
/// - a provider that dies, stalls past the idle timeout, or sends an error event mid-stream.
final class ResponseRelay: Sendable {
    let call: GatewayCall
    let upstream: HTTPClientResponse
    /// Whether the provider answered with server-sent events (from its content type).
    let streamed: Bool
    let metering: GatewayMetering
    let logger: Logger
    /// Set once the call's record is written or queued.
    private let recorded = Atomic(false)

    init(call: GatewayCall, upstream: HTTPClientResponse, streamed: Bool, metering: GatewayMetering, logger: Logger) {
        self.call = call
        self.upstream = upstream
        self.streamed = streamed
        self.metering = metering
        self.logger = logger
    }

    /// Runs when the server never started the answer's body (the caller's connection was gone
    /// when its headers were written): the call is still charged, with an estimate, through the
    /// ledger's queue since nothing can wait here.
    deinit {
        guard !recorded.load(ordering: .acquiring) else { return }
        let request = call.request
        let output = min(max(0, request?.maxOutputTokens ?? 0), ModelPrice.defaultMaxOutputTokens * 8)
        metering.finishEventually(call.admission, call.record(
            status: Int(upstream.status.code), outcome: .clientCancelled,
            usage: TokenUsage(input: request?.estimatedInputTokens ?? 0, output: output),
            source: .estimated, errorCode: "caller_gone"
        ))
    }

    private func meter() -> ResponseMeter {
        // A translated stream keeps the provider's usage chunk: the translation carries it over.
        ResponseMeter(kind: call.route!.kind, stream: streamed,
                      callerWantsStreamUsage: call.translation != nil || (call.request?.callerWantsStreamUsage ?? false))
    }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let route = call.route!
        var meter = meter()
        var translator = call.translation.map { direction in
            TranslatingStream(direction: direction, streamed: streamed, model: route.model,
                              callerWantsUsage: call.request?.callerWantsStreamUsage ?? false)
        }
        var firstByte: Duration?
        var callerGone = false
        var upstreamFailure: CoordinatorError?
        do {
            for try await chunk in upstream.body {
                if firstByte == nil { firstByte = ContinuousClock.now - call.started }
                var out = meter.feed(chunk)
                if translator != nil { out = translator!.feed(out) }
                if callerGone || out.readableBytes == 0 { continue }
                do {
                    try await writer.write(out)
                } catch {
                    callerGone = true
                    // A stream is cut at once (the provider stops generating); a JSON answer is
                    // complete on the provider's side already: read on to charge its usage.
                    if streamed { break }
                }
            }
        } catch {
            upstreamFailure = UpstreamClient.describeMidAnswer(error, provider: route.provider)
        }
        var tail = meter.finish()
        if translator != nil, upstreamFailure == nil, !callerGone {
            do {
                var rest = translator!.feed(tail)
                var end = try translator!.finish()
                rest.writeBuffer(&end)
                tail = rest
            } catch {
                upstreamFailure = error
            }
        }
        if upstreamFailure == nil, !callerGone, streamed, !Self.endedProperly(meter, kind: route.kind) {
            upstreamFailure = CoordinatorError(.upstreamError, "provider '\(route.provider)' ended the stream early")
        }
        let outcome: UsageOutcome =
            callerGone ? .clientCancelled : (upstreamFailure != nil || meter.sawErrorEvent) ? .upstreamError : .ok
        try await write(meter, outcome: outcome, ttfb: firstByte, failure: upstreamFailure)
        if callerGone {
            logger.debug("gateway caller went away", metadata: ["request_id": "\(call.requestID)"])
            return
        }
        if let upstreamFailure, streamed {
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

    /// A stream ended as its API says: Anthropic with `message_stop`; OpenAI with `[DONE]`, or at
    /// least its usage chunk (some compatible servers leave `[DONE]` out).
    static func endedProperly(_ meter: ResponseMeter, kind: ProviderKind) -> Bool {
        meter.overflowed || (kind == .anthropic ? meter.sawTerminal : (meter.sawTerminal || meter.reported != nil))
    }

    /// Writes the call's record, durable when this returns.
    private func write(_ meter: ResponseMeter, outcome: UsageOutcome, ttfb: Duration?, failure: CoordinatorError?) async throws {
        let (usage, source) = meter.charge(estimatedInput: call.request?.estimatedInputTokens ?? 0)
        let record = call.record(
            status: Int(upstream.status.code), outcome: outcome, usage: usage, source: source, ttfb: ttfb,
            errorCode: failure?.code.rawValue ?? (meter.sawErrorEvent ? "upstream_stream_error" : nil)
        )
        recorded.store(true, ordering: .releasing)
        try await metering.finish(call.admission, record)
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
