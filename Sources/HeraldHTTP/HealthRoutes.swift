import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `GET /healthz` (200 only when the database answers and its schema is the one this
/// binary expects) and `GET /metrics` (Prometheus text format).
struct HealthRoutes: Sendable {
    let listener: HTTPListener

    func add(to router: Router<BasicRequestContext>) {
        router.get(RouterPath(stringLiteral: ListenerSettings.Path.health)) { _, _ in await health() }
        router.get(RouterPath(stringLiteral: ListenerSettings.Path.metrics)) { _, _ in await metrics() }
    }

    private func health() async -> Response {
        do {
            let version = try await listener.database.run { try await $0.schemaVersion() }
            guard version == Migration.latestVersion else {
                return HTTPListener.respond(.serviceUnavailable, "schema version \(version), this herald needs \(Migration.latestVersion): run herald migrate\n")
            }
            return HTTPListener.respond(.ok, "ok\n")
        } catch {
            return HTTPListener.respond(.serviceUnavailable, "database unreachable\n")
        }
    }

    /// The daemon's counters and histograms, and the outbox's counts read now (the same
    /// statement as `herald status`). When the database does not answer, the counters are
    /// still served and `herald_database_up` is 0.
    private func metrics() async -> Response {
        let report = try? await listener.database.run { try await $0.status() }
        listener.exporter.update(from: report)
        return HTTPListener.respond(.ok, listener.exporter.text(), type: "text/plain; version=0.0.4; charset=utf-8")
    }
}
