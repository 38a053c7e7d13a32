import NIOCore
import Testing

@testable import FlotillaCLI

/// The benchmarks' HTTP/1.1 response framing: by Content-Length and chunked, split anywhere.
@Suite struct ResponseFramerTests {
    @Test func framesContentLengthAndChunkedResponsesWhateverTheSplit() {
        let stream = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n"
            + "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}"
        let bytes = Array(stream.utf8)
        for split in stride(from: 1, to: bytes.count, by: 7) {
            var framer = ResponseFramer()
            var statuses: [Int] = []
            for start in stride(from: 0, to: bytes.count, by: split) {
                var piece = ByteBuffer(bytes: bytes[start..<min(start + split, bytes.count)])
                framer.append(&piece)
                while case .response(let status) = framer.next() { statuses.append(status) }
            }
            #expect(statuses == [200, 200, 429], "split every \(split) bytes")
        }
        var bad = ResponseFramer()
        var chunk = ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        bad.append(&chunk)
        #expect(bad.next() == .malformed)
    }
}
