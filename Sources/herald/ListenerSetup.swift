import Crypto
import Foundation
import HeraldConfig
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HeraldPipeline
import Logging
import Prometheus

/// The HTTP listener of `herald run` when `[http] listen` is set: its metrics registry (the
/// daemon's metrics go there too), the key for unsubscribe links, and the service.
struct ListenerSetup {
    let listener: HTTPListener
    let factory: PrometheusMetricsFactory
    /// The key links are signed with (``Configuration/pipelineSettings(linkKey:)``).
    let key: [UInt8]

    /// Nil when the listener is off.
    init?(config: Configuration, logger: Logger) async throws {
        guard config.http.enabled, let host = config.http.host, let publicURL = config.http.publicURL else { return nil }
        if config.http.twilioAuthToken == nil {
            logger.warning("no Twilio auth token (http.twilio_auth_token_file or the credential twilio-auth-token): Twilio webhooks will be refused with 403")
        }
        key = try await Self.linkKey(config)
        let registry = PrometheusCollectorRegistry()
        factory = MetricsExporter.makeFactory(registry: registry)
        try Self.checkDescriptors(config)
        var settings = ListenerSettings(host: host, port: config.http.port, publicURL: publicURL,
                                        twilioAuthToken: config.http.twilioAuthToken, maxBodyBytes: config.http.maxBodyBytes)
        settings.maxConnections = config.http.maxConnections
        settings.idleTimeout = config.http.idleTimeout
        settings.requestTimeout = config.http.requestTimeout
        settings.databaseTimeout = config.http.databaseTimeout
        settings.metricsAllow = config.http.metricsAllow
        settings.metricsToken = config.http.metricsToken
        settings.metricsRefresh = config.http.metricsRefresh
        settings.sendGridKey = config.http.sendGridKey
        settings.mailgunKey = config.http.mailgunKey
        listener = HTTPListener(settings: settings, databaseURL: config.database.url, registry: registry,
                                unsubscribeKey: key, logger: logger, connections: config.http.connections,
                                defaultTimeZone: config.scheduling.defaultTimeZone)
    }

    /// Refuses to start when `[http] max_connections` and the daemon's own descriptors do
    /// not fit in the open-file limit, after raising the soft limit towards the hard one
    /// (what systemd's default of 1024 soft, 524288 hard allows).
    static func checkDescriptors(_ config: Configuration) throws {
        let budget = DescriptorBudget(config)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if UInt64(budget.total) > limit.rlim_cur, limit.rlim_max > limit.rlim_cur {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, rlim_t(budget.total))
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        if var problem = budget.problem(limit: UInt64(limit.rlim_cur)) {
            problem.file = config.source
            throw problem
        }
    }

    /// The configured key, or the one kept in `herald.secret` (made by the first daemon).
    static func linkKey(_ config: Configuration) async throws -> [UInt8] {
        if let key = config.http.linkKey { return key }
        let connection = try await openConnection(config)
        do {
            let key = try await storedLinkKey(Stores(connection: connection))
            await connection.close()
            return key
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The key kept in `herald.secret`, stored there by the first to ask (daemon or CLI).
    static func storedLinkKey(_ stores: Stores) async throws -> [UInt8] {
        do {
            return Array(try await stores.catalog.secret("link_key", generated: newLinkKey()).utf8)
        } catch {
            throw fail("cannot read or store the unsubscribe link key in herald.secret (is the schema migrated? run herald migrate): \(error)")
        }
    }

    /// A fresh key, as hex: what the first daemon stores in `herald.secret`.
    static func newLinkKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.hexString
    }
}
