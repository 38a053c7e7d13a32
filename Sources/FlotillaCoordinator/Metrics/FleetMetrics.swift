import CoreMetrics
import FlotillaProtocol
import Foundation
import Prometheus
import Synchronization

/// The coordinator's Prometheus metrics: swift-metrics handles on a swift-prometheus registry of
/// this coordinator's own (not the process-wide `MetricsSystem`, so tests can run several
/// coordinators in one process and each counts only its own traffic).
///
/// Counters move as things happen; the fleet's state (nodes by status, rollouts by state,
/// budget spend and limits) is read at scrape time by `MetricsAPI.samples()`.
/// Labels are bounded: groups, catalog models (`unresolved` before a model resolved), outcomes
/// and route classes; no per-node label.
final class FleetMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Route-class latency histograms by `route|status`, made on first use (so a scrape shows
    /// only the classes that saw traffic).
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let heartbeats: CoreMetrics.Counter
    /// Scrape-time gauges set at the previous scrape, by name and labels, so series that
    /// disappeared (a group removed, a rollout finished) are dropped rather than left stale.
    private let scrapeGauges = Mutex<[String: CoreMetrics.Gauge]>([:])

    /// The classes `RequestMetricsMiddleware` sorts requests into.
    static let routeClasses = ["enroll", "heartbeat", "node", "release", "gateway", "admin", "dashboard", "metrics", "other"]

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        self.factory = factory
        heartbeats = CoreMetrics.Counter(label: "flotilla_heartbeats_received_total", factory: factory)
    }

    // MARK: Events

    /// A request of `routeClass` answered with `status` after `nanoseconds`.
    func requestFinished(routeClass: String, status: Int, nanoseconds: Int64) {
        let statusClass = status >= 500 ? "5xx" : status >= 400 ? "4xx" : status >= 300 ? "3xx" : "2xx"
        let key = routeClass + "|" + statusClass
        let timer = timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: "flotilla_http_request_duration_seconds",
                                          dimensions: [("route", routeClass), ("status", statusClass)], factory: factory)
            timers[key] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }

    /// A heartbeat was accepted (acknowledged once durable).
    func heartbeatReceived() {
        heartbeats.increment()
    }

    /// An enrollment ended: `accepted`, `pending` (awaiting approval) or the error code.
    func enrollment(outcome: String) {
        counter("flotilla_enrollments_total", [("outcome", outcome)]).increment()
    }

    /// A dashboard sign-in was `accepted` or `refused`.
    func signIn(outcome: String) {
        counter("flotilla_dashboard_sign_ins_total", [("outcome", outcome)]).increment()
    }

    /// A gateway call ended (refusals included): calls, tokens and cost by group, model and outcome.
    /// A call refused before its model resolved to a catalog route counts under model
    /// `unresolved`, so callers cannot mint label values.
    func gatewayCall(_ record: UsageRecord) {
        let model = record.provider.isEmpty ? "unresolved" : record.model
        let group = record.group
        let outcome = record.errorCode.flatMap { Self.refusalCodes.contains($0) ? $0 : nil } ?? record.outcome.rawValue
        counter("flotilla_gateway_calls_total", [("group", group), ("model", model), ("outcome", outcome)]).increment()
        if let code = record.errorCode, Self.refusalCodes.contains(code) {
            counter("flotilla_gateway_refusals_total", [("group", group), ("reason", code)]).increment()
        }
        for (kind, count) in [("input", record.usage.input), ("output", record.usage.output), ("cached", record.usage.cached)] where count > 0 {
            counter("flotilla_gateway_tokens_total", [("group", group), ("model", model), ("kind", kind)]).increment(by: count)
        }
        if record.costNanos > 0 {
            FloatingPointCounter(label: "flotilla_gateway_cost_usd_total", dimensions: [("group", group), ("model", model)], factory: factory)
                .increment(by: Double(record.costNanos) / 1e9)
        }
    }

    /// Refusals that have a series of their own: budgets and rate limits.
    static let refusalCodes: Set<String> = [APIErrorCode.rateLimited.rawValue, APIErrorCode.budgetExceeded.rawValue]

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
    }

    // MARK: Scrape-time gauges

    /// One gauge value for this scrape.
    struct Sample {
        var name: String
        var labels: [(String, String)]
        var value: Double
    }

    /// Sets `samples` and drops every scrape-time series not among them.
    func setGauges(_ samples: [Sample]) {
        scrapeGauges.withLock { gauges in
            var kept: [String: CoreMetrics.Gauge] = [:]
            for sample in samples {
                let key = sample.name + "|" + sample.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
                let gauge = gauges[key] ?? CoreMetrics.Gauge(label: sample.name, dimensions: sample.labels, factory: factory)
                gauge.record(sample.value)
                kept[key] = gauge
            }
            for (key, gauge) in gauges where kept[key] == nil { gauge.destroy() }
            gauges = kept
        }
    }

    /// The registry in the Prometheus text format (version 0.0.4).
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }
}
