import HeraldOutbox
import Prometheus
import Synchronization

/// The Prometheus side of Herald's metrics: the registry the daemon's swift-metrics
/// counters and histograms land in (``DaemonMetrics`` with a `PrometheusMetricsFactory`),
/// the listener's request counter, and gauges set from the database at each scrape.
public final class MetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Gauge label sets seen at earlier scrapes: set to 0 when they vanish from the counts.
    private let seen = Mutex<Set<[String]>>([])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// A registry and the swift-metrics factory that writes into it, with Herald's buckets.
    public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        return factory
    }

    /// `herald_http_requests_total{endpoint, result}`.
    func request(endpoint: String, result: String) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "herald", metricName: "http_requests", unitName: "total",
            helpText: "Requests to the listener by endpoint and result (accepted, duplicate, forbidden, too_large, bad_request, unavailable, ...)."),
            labels: [("endpoint", endpoint), ("result", result)]).increment()
    }

    private static let help = [
        "database_up": "1 when the last scrape could read the outbox, 0 when the database did not answer.",
        "messages": "Messages in the outbox by channel and status (as herald status counts them).",
        "opted_out": "Recipients opted out now, by channel.",
        "oldest_due_age_seconds": "Seconds since the oldest due pending message became due (0 when none is due).",
        "failed_last_hour": "Messages that ended failed in the last hour.",
        "inbound_waiting": "Client replies stored and not processed yet.",
        "events_waiting": "Events recorded by the host and not expanded yet.",
        "events_failed_last_hour": "Events that could not be expanded in the last hour (herald explain --event ID).",
        "schema_version": "The outbox's schema version.",
    ]

    private func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
        let descriptor = MetricNameDescriptor(namespace: "herald", metricName: name, unitName: "", helpText: Self.help[name] ?? name)
        return registry.makeGauge(descriptor: descriptor, labels: labels)
    }

    /// Sets the database gauges from a `herald status` report (nil: the database did not answer).
    func update(from report: StatusReport?) {
        gauge("database_up").set(report == nil ? 0.0 : 1.0)
        guard let report else { return }
        var now = Set<[String]>()
        for count in report.counts {
            gauge("messages", [("channel", count.channel), ("status", count.status)]).set(Double(count.count))
            now.insert(["messages", count.channel, count.status])
        }
        for (channel, count) in report.optedOut {
            gauge("opted_out", [("channel", channel)]).set(Double(count))
            now.insert(["opted_out", channel])
        }
        let gone = seen.withLock { seen -> Set<[String]> in
            defer { seen = now }
            return seen.subtracting(now)
        }
        for labels in gone {
            if labels[0] == "messages" {
                gauge("messages", [("channel", labels[1]), ("status", labels[2])]).set(0.0)
            } else {
                gauge("opted_out", [("channel", labels[1])]).set(0.0)
            }
        }
        gauge("oldest_due_age_seconds").set(report.oldestDueAgeSeconds ?? 0)
        gauge("failed_last_hour").set(Double(report.failedLastHour))
        gauge("inbound_waiting").set(Double(report.inboundWaiting))
        gauge("events_waiting").set(Double(report.eventsWaiting))
        gauge("events_failed_last_hour").set(Double(report.eventsFailedLastHour))
        gauge("schema_version").set(Double(report.schemaVersion))
    }

    /// Everything in the registry, in Prometheus text format.
    func text() -> String { registry.emitToString() }
}
