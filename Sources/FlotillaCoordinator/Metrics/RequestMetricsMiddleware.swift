import Hummingbird

/// Times every request into `flotilla_http_request_duration_seconds{route, status}`. The route
/// is a fixed class from the path's prefix (never the path itself), so label values are bounded.
/// Sits outside `ErrorMiddleware`, so it sees thrown errors as the responses they become.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = CoordinatorRequestContext
    let metrics: FleetMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let routeClass = Self.routeClass(request.uri.path)
        do {
            let response = try await next(request, context)
            metrics.requestFinished(routeClass: routeClass, status: response.status.code, nanoseconds: Self.nanoseconds(since: started))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.requestFinished(routeClass: routeClass, status: status, nanoseconds: Self.nanoseconds(since: started))
            throw error
        }
    }

    /// The class of `path`: one of `FleetMetrics.routeClasses`.
    static func routeClass(_ path: String) -> String {
        if path == "/v1/heartbeat" { return "heartbeat" }
        if path == "/v1/enroll" { return "enroll" }
        if path.hasPrefix("/admin/") { return "admin" }
        if path == "/ui" || path.hasPrefix("/ui/") { return "dashboard" }
        if path == "/metrics" { return "metrics" }
        if path.hasPrefix("/v1/releases") || path.hasPrefix("/v1/blobs") || path.hasPrefix("/v1/trust") || path.hasPrefix("/v1/release") {
            return "release"
        }
        if path == "/v1/renew" || path.hasPrefix("/v1/node") || path == "/v1/gateway-key" { return "node" }
        if path.hasPrefix("/v1/") { return "gateway" }
        return "other"
    }

    private static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}
