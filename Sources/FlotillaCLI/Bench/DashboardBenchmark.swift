import AsyncHTTPClient
import FlotillaCoordinator
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Times dashboard pages of a coordinator holding a large simulated fleet, against a no-op
/// handler (`/healthz`) on the same listener and connection, measured in the same run.
struct DashboardBenchmark {
    let connection: AdminConnection
    let requests: Int
    let nodeName: String

    struct Figure {
        var label: String
        var path: String
        var p50Millis: Double
        var p95Millis: Double
        var bytes: Int
    }

    func run() async throws -> [Figure] {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try Self.configuration(caPEM: connection.caPEM))
        do {
            let cookie = try await signIn(http)
            var figures: [Figure] = []
            for (label, path) in [("no-op /healthz (baseline)", "/healthz"), ("overview /ui/", "/ui/"), ("nodes /ui/nodes", "/ui/nodes"),
                                  ("nodes sorted by status, online only, page 50", "/ui/nodes?sort=status&dir=desc&status=online&page=50"),
                                  ("node page (hour charts)", "/ui/nodes/\(nodeName)?range=hour"),
                                  ("usage by model, the last 30 days", "/ui/usage?by=model&from=\(UTCCalendar.day(Date().addingTimeInterval(-29 * 86_400)))")] {
                figures.append(try await time(http, label: label, path: path, cookie: cookie))
            }
            try await http.shutdown()
            return figures
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Signs in through the form, as a browser does; returns the session cookie.
    private func signIn(_ http: HTTPClient) async throws -> String {
        let form = try await http.execute(HTTPClientRequest(url: connection.serverURL + "/ui/sign-in"), timeout: .seconds(30))
        _ = try await form.body.collect(upTo: 1 << 20)
        guard let nonce = Self.cookie("flotilla_sign_in", in: form.headers) else { throw CLIError("the sign-in page set no form cookie") }
        var request = HTTPClientRequest(url: connection.serverURL + "/ui/sign-in")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Cookie", value: "flotilla_sign_in=\(nonce)")
        let token = connection.token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        request.body = .bytes(ByteBuffer(string: "csrf=\(nonce)&next=%2Fui%2F&token=\(token)"))
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard let session = Self.cookie("flotilla_session", in: response.headers) else { throw CLIError("sign-in failed (HTTP \(response.status.code))") }
        return session
    }

    private func time(_ http: HTTPClient, label: String, path: String, cookie: String) async throws -> Figure {
        var samples: [Double] = []
        var bytes = 0
        for round in 0..<(requests + 3) {
            var request = HTTPClientRequest(url: connection.serverURL + path)
            request.headers.add(name: "Cookie", value: "flotilla_session=\(cookie)")
            let start = ContinuousClock.now
            let response = try await http.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 64 << 20)
            let elapsed = ContinuousClock.now - start
            guard response.status == .ok else { throw CLIError("\(path) answered HTTP \(response.status.code)") }
            bytes = body.readableBytes
            // The first rounds warm caches (and the node page's first roll-up); they are not counted.
            if round >= 3 { samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) }
        }
        samples.sort()
        return Figure(label: label, path: path, p50Millis: samples[samples.count / 2],
                      p95Millis: samples[min(samples.count - 1, Int(Double(samples.count) * 0.95))], bytes: bytes)
    }

    private static func cookie(_ name: String, in headers: HTTPHeaders) -> String? {
        for value in headers["Set-Cookie"] {
            let pair = value.split(separator: ";", maxSplits: 1)[0]
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name, !parts[1].isEmpty { return String(parts[1]) }
        }
        return nil
    }

    private static func configuration(caPEM: String?) throws -> HTTPClient.Configuration {
        var configuration = try HeartbeatBenchmark.httpConfiguration(caPEM: caPEM)
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        return configuration
    }
}
