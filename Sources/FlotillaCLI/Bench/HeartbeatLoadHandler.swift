import Foundation
import NIOCore
import NIOHTTP1

/// What one keep-alive connection measured.
struct ConnectionResult: Sendable {
    var acknowledged = 0
    var failed = 0
    /// Latency of each acknowledged heartbeat after the first (which includes the TLS handshake), µs.
    var latenciesMicros: [UInt32] = []
}

/// Sends heartbeats back to back on one mutual-TLS keep-alive connection until `deadline`,
/// counting `200` answers (each one means the heartbeat was committed to disk).
final class HeartbeatLoadHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let body: ByteBuffer
    private let host: String
    private let deadline: NIODeadline
    private let done: EventLoopPromise<ConnectionResult>
    private var result = ConnectionResult()
    private var sentAt = NIODeadline.now()
    private var status: HTTPResponseStatus = .ok
    private var first = true
    private var finished = false

    init(body: ByteBuffer, host: String, deadline: NIODeadline, done: EventLoopPromise<ConnectionResult>) {
        self.body = body
        self.host = host
        self.deadline = deadline
        self.done = done
        result.latenciesMicros.reserveCapacity(4096)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            let now = NIODeadline.now()
            if status == .ok {
                result.acknowledged += 1
                if !first { result.latenciesMicros.append(UInt32(clamping: (now - sentAt).nanoseconds / 1000)) }
            } else {
                result.failed += 1
            }
            first = false
            if now < deadline {
                send(context: context)
            } else {
                finish(context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        result.failed += 1
        finish(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.succeed(result)
        }
    }

    private func send(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/heartbeat")
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        sentAt = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(result)
        context.close(promise: nil)
    }
}
