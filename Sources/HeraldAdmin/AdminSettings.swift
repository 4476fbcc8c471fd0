import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline

/// The admin API listener's settings (`[admin]`).
public struct AdminSettings: Sendable {
    /// Host and port to bind (`listen`; port 0 picks a free one, for tests).
    public var host: String
    public var port: Int
    /// Most connections open at once; idle and request timeouts, as the public listener's.
    public var maxConnections = 64
    public var idleTimeout: Duration = .seconds(5)
    public var requestTimeout: Duration = .seconds(30)
    /// Longest wait for the database in one request; past it, 503.
    public var databaseTimeout: Duration = .seconds(10)
    /// Largest request body (413 above): a template's text fits with room to spare.
    public var maxBodyBytes = 1 << 20
    /// The API's own database connections.
    public var connections = 2
    /// Authentication failures from one address before it is slowed down (``FailureThrottle``).
    public var failuresBeforeSlowing = 5
    /// How long a bulk dry run's confirmation holds.
    public var confirmationLifetime: TimeInterval = 600
    /// The most pending messages an impact report renders, and how long it may take.
    public var impactLimit = 10_000
    public var impactTime: Duration = .seconds(10)
    /// What previews and impact reports render with: the daemon's own settings.
    public var pipeline: PipelineSettings
    /// The daemon's drivers, for a template's test-send.
    public var drivers: [Channel: any Driver] = [:]
    /// The public listener's health for the dashboard (nil: no listener configured).
    public var listenerHealth: (@Sendable () async -> (ok: Bool, detail: String))?
    /// The console: its sessions, passwords and cookies (``ConsoleSettings``).
    public var console = ConsoleSettings()

    public init(host: String, port: Int, pipeline: PipelineSettings) {
        self.host = host
        self.port = port
        self.pipeline = pipeline
    }
}

/// Who is asking: a token (or, for the console, a user) and its role.
public struct Principal: Sendable, Equatable {
    /// `token` or `user`.
    public var kind: String
    public var name: String
    public var role: AdminRole

    public init(kind: String, name: String, role: AdminRole) {
        self.kind = kind
        self.name = name
        self.role = role
    }

    /// How `herald.actor` names it: `token ops-1`.
    public var actor: String { "\(kind) \(name)" }
}

/// Values of the request being served, set by ``AdminAuthMiddleware`` for the handlers.
enum AdminRequest {
    @TaskLocal static var principal: Principal?
    @TaskLocal static var address: String?
    /// `GET /api/v1/audit`: what a refused read tried.
    @TaskLocal static var path: String?
}
