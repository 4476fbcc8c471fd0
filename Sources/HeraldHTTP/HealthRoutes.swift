import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird

/// `GET /healthz` (200 only when the database answers and its schema is the one this
/// binary expects) and `GET /metrics` (Prometheus text format).
///
/// Both read the database through a ``SharedReading``: `/healthz` at most once a second,
/// the outbox's gauges at most every `[http] metrics_refresh`, whoever and however many
/// ask. `/metrics` answers only addresses in `[http] metrics_allow` (loopback unless
/// configured) or a request with `Authorization: Bearer <metrics_token_file's token>`;
/// anyone else gets 403.
struct HealthRoutes: Sendable {
    let listener: HTTPListener

    func add(to router: Router<ListenerRequestContext>) {
        router.get(RouterPath(stringLiteral: ListenerSettings.Path.health)) { _, _ in await health() }
        router.get(RouterPath(stringLiteral: ListenerSettings.Path.metrics)) { request, context in await metrics(request, context) }
    }

    private func health() async -> Response {
        let database = listener.database
        let (ok, text) = await listener.healthReading.get {
            do {
                let version = try await database.run { try await $0.catalog.schemaVersion() }
                guard version == Migration.latestVersion else {
                    return (false, "schema version \(version), this herald needs \(Migration.latestVersion): run herald migrate\n")
                }
                return (true, "ok\n")
            } catch {
                return (false, "database unreachable\n")
            }
        }
        return HTTPListener.respond(ok ? .ok : .serviceUnavailable, text)
    }

    /// The daemon's counters and histograms, and the outbox's counts (the same statement as
    /// `herald status`), read and rendered at most every `metrics_refresh` (every scrape in
    /// between gets the same text). When the database does not answer, the counters are
    /// still served and `herald_database_up` is 0.
    private func metrics(_ request: Request, _ context: ListenerRequestContext) async -> Response {
        guard mayReadMetrics(request, context) else {
            listener.count("metrics", "forbidden")
            return HTTPListener.respond(.forbidden, "metrics are served to the addresses in [http] metrics_allow or with its bearer token\n")
        }
        let database = listener.database
        let exporter = listener.exporter
        let text = await listener.metricsReading.get {
            let report = try? await database.run { try await $0.messages.status() }
            exporter.update(from: report)
            return exporter.text()
        }
        return HTTPListener.respond(.ok, text, type: "text/plain; version=0.0.4; charset=utf-8")
    }

    /// The peer is in `metrics_allow`, or the request carries the configured token
    /// (compared in constant time).
    func mayReadMetrics(_ request: Request, _ context: ListenerRequestContext) -> Bool {
        let settings = listener.settings
        if let token = settings.metricsToken, let given = request.headers[.authorization], given.hasPrefix("Bearer ") {
            if ConstantTime.equal(Array(given.dropFirst(7).utf8), Array(token.utf8)) { return true }
        }
        guard let address = context.remoteAddress?.ipAddress else { return false }
        return settings.metricsAllow.contains(address)
    }
}
