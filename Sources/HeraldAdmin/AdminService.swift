import Crypto
import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldHTTP
import HeraldOutbox
import HeraldPipeline
import HeraldWorker
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import OpenAPIHummingbird
import ServiceLifecycle
import Synchronization

/// The admin API's listener (`[admin] listen`), a service of the daemon's group beside the
/// public listener: its own port (keep it private with a firewall), its own database login
/// (`[admin] database_url`, a member of `herald_api`) and connections, the same kind of
/// connection limits and timeouts. Routes are generated from `openapi.yaml`; every
/// `/api/` request needs a bearer token (``AdminAuthMiddleware``). The browser console
/// (``Console``, `/console`) is served beside it, behind its users' sessions.
public final class AdminService: Service, Sendable {
    let settings: AdminSettings
    let logger: Logger
    let database: ListenerDatabase
    let throttle: SharedThrottle
    /// bcrypt for the console's sign-ins, on its own thread.
    let hasher: PasswordHasher
    private let confirmKey = Mutex<[UInt8]?>(nil)
    private let cachedPipeline = Mutex<(ContinuousClock.Instant, Pipeline)?>(nil)

    /// Forgets the cached pipeline (after a template is written).
    func templatesChanged() { cachedPipeline.withLock { $0 = nil } }
    private let bound = BoundPort()
    private let statsCache = Mutex<[Int: (ContinuousClock.Instant, StatsFigures)]>([:])

    /// The dashboard's figures over the last `hours`, read at most every 10 seconds per
    /// window (a dashboard left open, or many, cost one reading).
    func stats(hours: Int) async throws -> StatsFigures {
        if let (at, figures) = statsCache.withLock({ $0[hours] }), ContinuousClock.now - at < .seconds(10) { return figures }
        let figures = try await database.run { s in
            StatsFigures(series: try await s.admin.finishedPerHour(hours: hours),
                         reasons: try await s.admin.topFailureReasons(hours: hours, limit: 5),
                         status: try await s.messages.status())
        }
        statsCache.withLock { cache in
            if cache.count > 16 { cache.removeAll() }
            cache[hours] = (ContinuousClock.now, figures)
        }
        return figures
    }

    public init(settings: AdminSettings, databaseURL: String, logger: Logger) {
        self.settings = settings
        self.logger = logger
        throttle = SharedThrottle(free: settings.failuresBeforeSlowing)
        hasher = PasswordHasher(cost: settings.console.bcryptCost, maxWaiting: settings.console.maxWaitingSignIns)
        database = ListenerDatabase(databaseURL: databaseURL, size: settings.connections, timeout: settings.databaseTimeout,
                                    applicationName: "herald-admin")
    }

    public func run() async throws {
        let router = Router(context: ListenerRequestContext.self)
        router.add(middleware: AdminAuthMiddleware(service: self))
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        try AdminHandler(service: self).registerHandlers(on: router)
        Console(service: self).register(on: router)
        let logger = self.logger
        let app = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [requestDeadlineHandler(timeout: .nanoseconds(Int64(clampingFloor: self.settings.requestTimeout.seconds * 1e9))) {
                    logger.info("admin API: a connection was closed for not finishing its request in time")
                }],
                idleTimeout: .nanoseconds(Int64(clampingFloor: settings.idleTimeout.seconds * 1e9)))),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "herald-admin",
                                 availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections)),
            onServerRunning: { [weak self] channel in self?.listening(channel.localAddress?.port) },
            logger: logger)
        database.open()
        defer { listening(nil, finished: true) }
        do {
            try await app.run()
        } catch {
            logger.critical("admin API listener failed", metadata: ["listen": "\(settings.host):\(settings.port)", "error": "\(error)"])
            await database.close()
            throw error
        }
        await database.close()
    }

    /// The port once it accepts connections (nil if it failed to start).
    public func boundPort() async -> Int? { await bound.wait() }

    private func listening(_ port: Int?, finished: Bool = false) {
        if let port, !finished { logger.notice("admin API ready", metadata: ["port": "\(port)"]) }
        bound.set(port, finished: finished)
    }

    /// Appends to the audit log; a failure to write it is logged (the action's answer stands).
    func audit(_ entry: AdminStore.AuditEntry) async {
        do {
            try await database.run { try await $0.admin.audit(entry) }
        } catch {
            logger.error("admin API: could not write the audit log", metadata: ["action": "\(entry.action)", "error": "\(error)"])
        }
    }

    /// The key bulk confirmations are signed with, kept in `herald.secret` (made by the first to ask).
    func confirmation() async throws -> BulkConfirmation {
        if let key = confirmKey.withLock({ $0 }) { return BulkConfirmation(key: key) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
        let stored = try await database.run { try await $0.admin.confirmKey(generated: fresh) }
        let key = Array(stored.utf8)
        confirmKey.withLock { $0 = key }
        return BulkConfirmation(key: key)
    }

    /// The daemon's pipeline over the database's templates and locations now (`rows`
    /// changed for a proposed template).
    func pipeline(replacing template: TemplateRecord? = nil, now: Date, links: Bool = true) async throws -> Pipeline {
        // The catalog as stored, read and checked at most once every few seconds for the
        // reads that render (one message's page): not once per request.
        if template == nil, links, let (at, cached) = cachedPipeline.withLock({ $0 }), ContinuousClock.now - at < .seconds(5) {
            return cached
        }
        var rows = try await database.run { try await PipelineRows.read(from: $0) }
        if let template { rows = rows.replacing(template) }
        var pipelineSettings = settings.pipeline
        if !links { pipelineSettings.links = nil }
        let pipeline = Pipeline.load(rows, settings: pipelineSettings, now: now).pipeline
        if template == nil, links { cachedPipeline.withLock { $0 = (ContinuousClock.now, pipeline) } }
        return pipeline
    }
}
