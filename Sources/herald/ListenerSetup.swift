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
    let links: UnsubscribeLinks
    /// Signs clients' answer links; replies answer when Twilio's inbound SMS can be verified.
    let answers: Pipeline.Answers

    /// Nil when the listener is off.
    init?(config: Configuration, logger: Logger) async throws {
        guard config.http.enabled, let host = config.http.host, let publicURL = config.http.publicURL else { return nil }
        if config.http.twilioAuthToken == nil {
            logger.warning("no Twilio auth token (http.twilio_auth_token_file or the credential twilio-auth-token): Twilio webhooks will be refused with 403")
        }
        let key = try await Self.linkKey(config)
        let registry = PrometheusCollectorRegistry()
        factory = MetricsExporter.makeFactory(registry: registry)
        links = UnsubscribeLinks(publicURL: publicURL, key: key)
        answers = Pipeline.Answers(links: AnswerLinks(publicURL: publicURL, key: key), byReply: config.http.twilioAuthToken != nil)
        let settings = ListenerSettings(host: host, port: config.http.port, publicURL: publicURL,
                                        twilioAuthToken: config.http.twilioAuthToken, maxBodyBytes: config.http.maxBodyBytes)
        listener = HTTPListener(settings: settings, databaseURL: config.database.url, registry: registry,
                                unsubscribeKey: key, logger: logger, connections: config.http.connections,
                                defaultTimeZone: config.scheduling.defaultTimeZone)
    }

    /// The configured key, or the one kept in `herald.secret` (made by the first daemon).
    static func linkKey(_ config: Configuration) async throws -> [UInt8] {
        if let key = config.http.linkKey { return key }
        let connection = try await openConnection(config)
        let generated = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.map { String(format: "%02x", $0) }.joined()
        do {
            let key = try await OutboxStore(connection: connection, workerID: "herald").secret("link_key", generated: generated)
            await connection.close()
            return Array(key.utf8)
        } catch {
            await connection.close()
            throw fail("cannot read or store the unsubscribe link key in herald.secret (is the schema migrated? run herald migrate): \(error)")
        }
    }
}
