import FlotillaProtocol
import Foundation
import Synchronization
import Testing

extension EndToEnd {
/// What the listener does for callers who are not nodes yet: sockets that never finish a TLS
/// handshake are closed, the number of connections is capped, and guessing enrollment tokens from
/// one address is throttled.
@Suite struct ListenerLimitTests {
    /// A plain TCP connection to the coordinator's port.
    static func connect(_ url: String) throws -> Int32 {
        guard let port = URLComponents(string: url)?.port else { throw TestFailure("no port in \(url)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect failed: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Connections the kernel completed on the listening socket at `port` that the coordinator
    /// has not accepted yet (`rx_queue` of the LISTEN line of /proc/net/tcp); nil when not found.
    static func acceptQueueLength(port: Int) -> Int? {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
        let local = String(format: ":%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // sl local_address rem_address st tx_queue:rx_queue ...
            guard fields.count > 4, fields[1].hasSuffix(local), fields[3] == "0A" else { continue }
            return fields[4].split(separator: ":").last.flatMap { Int($0, radix: 16) }
        }
        return nil
    }

    @Test func silentSocketsAreClosedAfterTheHandshakeTimeout() async throws {
        try await TestFleet.with(serveArguments: ["--tls-handshake-timeout", "1s"]) { fleet in
            let fd = try Self.connect(fleet.serverURL)
            defer { close(fd) }
            let started = Date()
            var byte: UInt8 = 0
            // The server closes the connection: read returns 0 (end of stream) well before 5 s.
            let count = read(fd, &byte, 1)
            #expect(count == 0)
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.8 && waited < 4, "closed after \(waited) s")
        }
    }

    @Test func connectionsBeyondTheCapWaitUntilOneCloses() async throws {
        try await TestFleet.with(serveArguments: ["--max-connections", "2", "--tls-handshake-timeout", "30s"]) { fleet in
            let held = try (0..<2).map { _ in try Self.connect(fleet.serverURL) }
            // Both accepted by the coordinator (not just queued by the kernel) before the third
            // caller comes, however busy the machine.
            let port = try #require(URLComponents(string: fleet.serverURL)?.port)
            #expect(try fleet.eventually(timeout: 20) { Self.acceptQueueLength(port: port) == 0 })
            try await Task.sleep(for: .milliseconds(300))
            // A third caller is not served while two connections are held.
            let served = Mutex(false)
            let waiting = Task {
                let reply = try await fleet.post("/v1/enroll", body: Data("{}".utf8))
                served.withLock { $0 = true }
                return reply
            }
            try await Task.sleep(for: .seconds(2))
            #expect(!served.withLock { $0 }, "served despite the cap")
            for fd in held { close(fd) }
            let reply = try await waiting.value
            #expect(reply.status == 400)
        }
    }

    @Test func guessingEnrollmentTokensFromOneAddressIsThrottled() async throws {
        // Two failures a minute: one more is allowed every 30 s, longer than this test takes.
        try await TestFleet.with(serveArguments: ["--enroll-failures-per-minute", "2"]) { fleet in
            let body = Data(#"{"token":"flt_guess","name":"board-1","csr_pem":"x","agent_version":"t","arch":"x86_64"}"#.utf8)
            var codes: [String?] = []
            let started = ContinuousClock.now
            for _ in 0..<6 { codes.append(try await fleet.post("/v1/enroll", body: body).errorCode) }
            let elapsed = ContinuousClock.now - started
            // On a machine slow enough for the bucket to refill (a loaded CI runner), later
            // guesses may be heard again, but never more often than the limit allows.
            if elapsed < .seconds(30) {
                #expect(Array(codes.prefix(3)) == ["token_invalid", "token_invalid", "rate_limited"], "\(codes) in \(elapsed)")
            }
            let allowed = 2 + Int(elapsed / .seconds(30))
            #expect(codes.filter { $0 == "token_invalid" }.count <= allowed, "\(codes) in \(elapsed)")
            #expect(codes.allSatisfy { $0 == "token_invalid" || $0 == "rate_limited" }, "\(codes)")
        }
    }
}
}
