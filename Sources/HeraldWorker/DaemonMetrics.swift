import CoreMetrics
import Foundation

/// The daemon's own measurements, through swift-metrics with the factory it is given (the
/// HTTP listener's Prometheus registry when `[http]` is on; nothing otherwise). Names are
/// Prometheus names: what `/metrics` exports and `deploy/prometheus` and `deploy/grafana` use.
///
/// Counts of messages by status, the oldest due age and opt-outs are not counted here: the
/// listener reads them from the database at each scrape, as `herald status` does.
public struct DaemonMetrics: Sendable {
    private let factory: any MetricsFactory

    /// Stage latency histograms (`herald_<stage>_seconds`).
    public enum Stage: String, Sendable, CaseIterable {
        /// One claim statement.
        case claim
        /// One message through the rules and rendering.
        case render
        /// One driver call (labelled by channel).
        case deliver
        /// One group-commit statement of outcomes.
        case record
        /// One look at claimed messages just before their drivers are called (``SendGate``).
        case gate
    }

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    /// `herald_deliveries_total{channel, outcome}`: one per recorded attempt (`sent`, `retry`, `failed`).
    func delivery(channel: String, outcome: String) {
        Counter(label: "herald_deliveries_total", dimensions: [("channel", channel), ("outcome", outcome)], factory: factory).increment()
    }

    /// `herald_<stage>_seconds`.
    func observe(_ stage: Stage, since start: ContinuousClock.Instant, channel: String? = nil) {
        let elapsed = ContinuousClock.now - start
        let nanos = elapsed.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanos.overflow ? Int64.max : nanos.partialValue.addingReportingOverflow(elapsed.components.attoseconds / 1_000_000_000).partialValue
        let dimensions = channel.map { [("channel", $0)] } ?? []
        Timer(label: "herald_\(stage.rawValue)_seconds", dimensions: dimensions, factory: factory).recordNanoseconds(max(0, total))
    }

    /// `herald_inbound_total{result}`: client replies processed, by what they were (`opt_out`, `opt_in`, `help`, `reply`, `failed`).
    func inbound(result: String) {
        Counter(label: "herald_inbound_total", dimensions: [("result", result)], factory: factory).increment()
    }

    /// `herald_suppressed_in_flight_total{channel}`: claimed messages not sent because their
    /// recipient opted out (or their contact changed) after the claim.
    func suppressedInFlight(channel: String) {
        Counter(label: "herald_suppressed_in_flight_total", dimensions: [("channel", channel)], factory: factory).increment()
    }

    /// `herald_opt_outs_total{channel, source}`: opt-outs recorded by the daemon (provider error, keyword).
    func optOut(channel: String, source: String) {
        Counter(label: "herald_opt_outs_total", dimensions: [("channel", channel), ("source", source)], factory: factory).increment()
    }

    /// `herald_render_fallback_total{reason}`: at a catalog load, templates left to
    /// swift-mustache (`unsupported`: Herald's renderer does not compile them; `mismatch`:
    /// the two renderers disagreed on the sample data) and templates checked on `{}` only,
    /// for want of sample data (`unverified`: Herald's renderer renders them).
    func renderFallback(reason: String) {
        Counter(label: "herald_render_fallback_total", dimensions: [("reason", reason)], factory: factory).increment()
    }
}
