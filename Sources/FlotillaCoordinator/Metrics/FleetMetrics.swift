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
    /// Handles by `key(label, dimensions)`, made on first use: making one goes through the
    /// registry's name and label checks under its lock, which the gateway would otherwise pay for
    /// each counter of every call. Latency histograms made on first use also keep a scrape to the
    /// route classes that saw traffic.
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let costCounters = Mutex<[String: FloatingPointCounter]>([:])
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
        Self.handle(timers, "flotilla_http_request_duration_seconds", [("route", routeClass), ("status", statusClass)]) {
            CoreMetrics.Timer(label: $0, dimensions: $1, factory: factory)
        }.recordNanoseconds(nanoseconds)
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
            Self.handle(costCounters, "flotilla_gateway_cost_usd_total", [("group", group), ("model", model)]) {
                FloatingPointCounter(label: $0, dimensions: $1, factory: factory)
            }.increment(by: Double(record.costNanos) / 1e9)
        }
    }

    /// A budget's downgrade moved a call of `group` from catalog model `from` to `to`.
    func downgrade(group: String, from: String, to: String) {
        counter("flotilla_gateway_downgrades_total", [("group", group), ("from", from), ("to", to)]).increment()
    }

    /// Refusals that have a series of their own: budgets and rate limits.
    static let refusalCodes: Set<String> = [APIErrorCode.rateLimited.rawValue, APIErrorCode.budgetExceeded.rawValue]

    private func counter(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        Self.handle(counters, label, dimensions) { CoreMetrics.Counter(label: $0, dimensions: $1, factory: factory) }
    }

    /// The handle in `cache` for `label` and `dimensions`, made by `make` the first time.
    private static func handle<Handle>(
        _ cache: borrowing Mutex<[String: Handle]>, _ label: String, _ dimensions: [(String, String)],
        make: (String, [(String, String)]) -> Handle
    ) -> Handle {
        let key = key(label, dimensions)
        return cache.withLock { handles in
            if let handle = handles[key] { return handle }
            let handle = make(label, dimensions)
            handles[key] = handle
            return handle
        }
    }

    /// One series' name and labels as a dictionary key (separated by a control character, which
    /// no name or label value holds).
    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        var key = label
        for (name, value) in dimensions { key += "\u{1F}" + name + "\u{1F}" + value }
        return key
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
                let key = Self.key(sample.name, sample.labels)
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
