import HeraldCore
import HeraldInbound
import HeraldOutbox
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The daemon's HTTP listener (`[http] listen`), a service beside the others: Twilio's
/// inbound and status webhooks, one-click unsubscribe links, `/healthz` and `/metrics`.
///
/// Slow or silent clients cannot hold it: at most `[http] max_connections` connections
/// are open (more wait in the backlog), one idle for `idle_timeout` is closed, and one whose
/// request is not read and answered within `request_timeout` is closed. A silent database
/// cannot either: each statement has `database_timeout` (see ``ListenerDatabase``).
///
/// It only stores what arrives (durably, before answering) and reads for health and
/// metrics; the ``InboundProcessor`` acts on client replies. It has its own database
/// connections (`herald-http`), so a burst of webhooks never delays claiming or recording.
public final class HTTPListener: Service, Sendable {
    let settings: ListenerSettings
    let logger: Logger
    let database: ListenerDatabase
    let exporter: MetricsExporter
    /// `/healthz`'s answer, read at most once a second (`healthRefresh`).
    let healthReading: SharedReading<(Bool, String)>
    /// `/metrics`' text, read from the database and rendered at most every `metrics_refresh`.
    let metricsReading: SharedReading<String>
    /// Signs unsubscribe and answer links.
    let unsubscribeKey: [UInt8]?
    /// The zone answer pages show times in when neither the message nor its location has one.
    let defaultTimeZone: String
    private let bound = BoundPort()

    /// - Parameters:
    ///   - registry: where the daemon's metrics are (the factory given to ``DaemonMetrics``).
    ///   - unsubscribeKey: the key unsubscribe and answer tokens are signed with (nil: links refused).
    ///   - defaultTimeZone: `[scheduling] default_time_zone`, for answer pages.
    public init(settings: ListenerSettings, databaseURL: String, registry: PrometheusCollectorRegistry,
                unsubscribeKey: [UInt8]?, logger: Logger, connections: Int = 4, defaultTimeZone: String = "UTC") {
        self.settings = settings
        self.logger = logger
        self.database = ListenerDatabase(databaseURL: databaseURL, size: connections, timeout: settings.databaseTimeout)
        self.exporter = MetricsExporter(registry: registry)
        self.metricsReading = SharedReading(interval: settings.metricsRefresh)
        self.healthReading = SharedReading(interval: settings.healthRefresh)
        self.unsubscribeKey = unsubscribeKey
        self.defaultTimeZone = defaultTimeZone
    }

    public func run() async throws {
        let router = Router(context: ListenerRequestContext.self)
        TwilioRoutes(listener: self).add(to: router)
        EmailEventRoutes(listener: self).add(to: router)
        UnsubscribeRoutes(listener: self).add(to: router)
        AnswerRoutes(listener: self).add(to: router)
        HealthRoutes(listener: self).add(to: router)
        let exporter = self.exporter
        let requestTimeout = TimeAmount.nanoseconds(Int64(clampingFloor: settings.requestTimeout.seconds * 1e9))
        let app = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(timeout: requestTimeout) {
                    exporter.request(endpoint: "connection", result: "request_timeout")
                }],
                idleTimeout: .nanoseconds(Int64(clampingFloor: settings.idleTimeout.seconds * 1e9)))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "herald",
                                 availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections)),
            onServerRunning: { [weak self] channel in self?.listening(on: channel.localAddress?.port) },
            logger: logger)
        database.open()
        defer { self.listening(on: nil, finished: true) }
        do {
            try await app.run()
        } catch {
            logger.critical("HTTP listener failed", metadata: ["listen": "\(settings.host):\(settings.port)", "error": "\(error)"])
            await database.close()
            throw error
        }
        await database.close()
    }

    /// The port the listener is bound to once it accepts connections (nil if it failed to start).
    public func boundPort() async -> Int? { await bound.wait() }

    private func listening(on port: Int?, finished: Bool = false) {
        if let port, !finished { logger.notice("HTTP listener ready", metadata: ["port": "\(port)", "public_url": "\(settings.publicURL)"]) }
        bound.set(port, finished: finished)
    }

    /// Counts one request by endpoint and result (`herald_http_requests_total`).
    func count(_ endpoint: String, _ result: String) {
        exporter.request(endpoint: endpoint, result: result)
    }
}

extension HTTPListener {
    /// A plain-text or markup response.
    static func respond(_ status: HTTPResponse.Status, _ body: String, type: String = "text/plain; charset=utf-8",
                        headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Reads a request body up to the limit; nil (and a 413 to send) when it is larger.
    /// A declared `Content-Length` over the limit is refused before reading anything.
    func body(of request: Request) async throws -> [UInt8]? {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > settings.maxBodyBytes { return nil }
        do {
            let buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            return nil
        }
    }
}
