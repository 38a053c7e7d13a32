import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What one keep-alive connection measured.
struct ConnectionResult: Sendable {
    var acknowledged = 0
    var failed = 0
    /// Latency of each acknowledged heartbeat after the first (which includes the TLS handshake), µs.
    var latenciesMicros: [UInt32] = []
    /// In a sum from `KeepAliveLoad.drive`: the acknowledged count of each connection, in
    /// connection order.
    var acknowledgedByConnection: [Int] = []
}

extension Duration {
    /// Whole microseconds, as the benchmarks keep latencies.
    var wholeMicroseconds: UInt32 {
        let parts = components
        return UInt32(clamping: parts.seconds * 1_000_000 + parts.attoseconds / 1_000_000_000_000)
    }
}

/// Opens keep-alive connections (plain, TLS or mutual TLS) that each send one pre-serialized
/// request back to back until a deadline, and sums what they measured. The heartbeat and gateway
/// benchmarks drive the coordinator (and the gateway's baseline, the provider) with it.
enum KeepAliveLoad {
    /// `method path` with `headers` and `body`, serialized once.
    static func request(method: String = "POST", path: String, host: String, headers: [(String, String)] = [], body: ByteBuffer) -> ByteBuffer {
        var request = ByteBuffer()
        request.writeString("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\n")
        for (name, value) in headers { request.writeString("\(name): \(value)\r\n") }
        request.writeString("Content-Length: \(body.readableBytes)\r\n\r\n")
        var body = body
        request.writeBuffer(&body)
        return request
    }

    /// Runs `connections` connections to `host:port` for `duration` seconds, connection `i`
    /// through `tls(i)` when given; latencies come back sorted.
    static func drive(group: any EventLoopGroup, connections: Int, host: String, port: Int, tls: ((Int) throws -> NIOSSLContext)?,
                      request: ByteBuffer, duration: Double) async throws -> ConnectionResult {
        let deadline = NIODeadline.now() + .milliseconds(Int64(duration * 1000))
        var futures: [EventLoopFuture<ConnectionResult>] = []
        for batch in stride(from: 0, to: connections, by: 128) {
            var connects: [EventLoopFuture<any Channel>] = []
            for index in batch..<min(batch + 128, connections) {
                let context = try tls?(index)
                let loop = group.next()
                let done = loop.makePromise(of: ConnectionResult.self)
                futures.append(done.futureResult)
                let connect = ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let context {
                                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                            }
                            try channel.pipeline.syncOperations.addHandler(KeepAliveLoadHandler(request: request, deadline: deadline, done: done))
                        }
                    }
                    .connect(host: host, port: port)
                connect.whenFailure { done.fail($0) }
                connects.append(connect)
            }
            for connect in connects { _ = try? await connect.get() }
        }
        var total = ConnectionResult()
        for future in futures {
            guard let result = try? await future.get() else {
                total.failed += 1
                total.acknowledgedByConnection.append(0)
                continue
            }
            total.acknowledgedByConnection.append(result.acknowledged)
            total.acknowledged += result.acknowledged
            total.failed += result.failed
            total.latenciesMicros.append(contentsOf: result.latenciesMicros)
        }
        total.latenciesMicros.sort()
        return total
    }
}

extension ConnectionResult {
    /// The latency at quantile `p` (0...1) of sorted `latenciesMicros`.
    func percentile(_ p: Double) -> UInt32 {
        guard !latenciesMicros.isEmpty else { return 0 }
        return latenciesMicros[min(latenciesMicros.count - 1, Int(Double(latenciesMicros.count) * p))]
    }
}

/// Sends one request back to back on one keep-alive connection until `deadline`, counting `200`
/// answers (for heartbeats and metered gateway calls alike, each one means a commit to disk).
///
/// It writes a pre-serialized HTTP/1.1 request and frames responses by `Content-Length` itself:
/// the load generator shares the machine with the coordinator, so it should cost as little as
/// possible and leave the CPU to the system under test.
final class KeepAliveLoadHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let deadline: NIODeadline
    private let done: EventLoopPromise<ConnectionResult>
    private var result = ConnectionResult()
    private var framer = ResponseFramer()
    private var sentAt = NIODeadline.now()
    private var first = true
    private var finished = false

    init(request: ByteBuffer, deadline: NIODeadline, done: EventLoopPromise<ConnectionResult>) {
        self.request = request
        self.deadline = deadline
        self.done = done
        result.latenciesMicros.reserveCapacity(4096)
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        framer.append(&bytes)
        while true {
            switch framer.next() {
            case .incomplete:
                return
            case .malformed:
                result.failed += 1
                finish(context: context)
                return
            case .response(let status):
                let now = NIODeadline.now()
                if status == 200 {
                    result.acknowledged += 1
                    if !first { result.latenciesMicros.append(UInt32(clamping: (now - sentAt).nanoseconds / 1000)) }
                } else {
                    result.failed += 1
                }
                first = false
                guard now < deadline else {
                    finish(context: context)
                    return
                }
                send(context: context)
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
        sentAt = .now()
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        done.succeed(result)
        context.close(promise: nil)
    }
}

/// Splits a stream of HTTP/1.1 responses, framed by `Content-Length` or chunked, into status codes.
struct ResponseFramer {
    enum Next: Equatable {
        case incomplete
        case malformed
        case response(status: Int)
    }

    private var buffer = ByteBuffer()

    mutating func append(_ bytes: inout ByteBuffer) {
        buffer.writeBuffer(&bytes)
    }

    mutating func next() -> Next {
        let view = buffer.readableBytesView
        guard let headEnd = Self.find(Array("\r\n\r\n".utf8), in: view) else {
            return view.count > 16 * 1024 ? .malformed : .incomplete
        }
        let head = String(decoding: view[view.startIndex..<headEnd], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { return .malformed }
        var length = 0
        var chunked = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if name == "content-length" {
                guard let number = Int(value) else { return .malformed }
                length = number
            } else if name == "transfer-encoding", value.lowercased() == "chunked" {
                chunked = true
            }
        }
        var total = headEnd - view.startIndex + 4 + length
        if chunked {
            switch Self.chunkedEnd(view, from: headEnd + 4) {
            case .incomplete: return .incomplete
            case .malformed: return .malformed
            case .end(let end): total = end - view.startIndex
            }
        }
        guard view.count >= total else { return .incomplete }
        buffer.moveReaderIndex(forwardBy: total)
        buffer.discardReadBytes()
        return .response(status: status)
    }

    private enum ChunkedEnd { case incomplete, malformed, end(Int) }

    /// Where a chunked body starting at `start` ends (RFC 9112 §7.1: hex size lines, each chunk
    /// followed by CRLF, a zero-size last chunk, then trailer lines up to an empty one).
    private static func chunkedEnd(_ view: ByteBufferView, from start: Int) -> ChunkedEnd {
        var at = start
        while true {
            guard let lineEnd = findCRLF(view, from: at) else { return .incomplete }
            let sizeText = String(decoding: view[at..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else { return .malformed }
            at = lineEnd + 2
            if size == 0 {
                while true {
                    guard let trailerEnd = findCRLF(view, from: at) else { return .incomplete }
                    if trailerEnd == at { return .end(at + 2) }
                    at = trailerEnd + 2
                }
            }
            at += size + 2
            guard at <= view.endIndex else { return .incomplete }
        }
    }

    private static func findCRLF(_ view: ByteBufferView, from start: Int) -> Int? {
        var i = start
        while i + 1 < view.endIndex {
            if view[i] == 13 && view[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: ByteBufferView) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while i <= last {
            if haystack[i] == needle[0] && haystack[i + 1] == needle[1] && haystack[i + 2] == needle[2] && haystack[i + 3] == needle[3] {
                return i
            }
            i += 1
        }
        return nil
    }
}
