import HeraldAdmin
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldPipeline
import Logging

/// The admin API's service for `herald run`, when `[admin] listen` is set.
enum AdminSetup {
    static func service(_ config: Configuration, pipeline: PipelineSettings, drivers: [Channel: any Driver], logger: Logger,
                        listenerHealth: (@Sendable () async -> (ok: Bool, detail: String))? = nil) -> AdminService? {
        guard config.admin.enabled, let host = config.admin.host else { return nil }
        var settings = AdminSettings(host: host, port: config.admin.port, pipeline: pipeline)
        settings.connections = config.admin.connections
        settings.maxConnections = config.admin.maxConnections
        settings.idleTimeout = config.admin.idleTimeout
        settings.requestTimeout = config.admin.requestTimeout
        settings.databaseTimeout = config.admin.databaseTimeout
        settings.maxBodyBytes = config.admin.maxBodyBytes
        settings.drivers = drivers
        settings.console.sessionLifetime = config.admin.sessionLifetime
        settings.console.sessionIdle = config.admin.sessionIdle
        settings.console.bcryptCost = config.admin.bcryptCost
        settings.console.secureCookies = config.admin.publicURL?.lowercased().hasPrefix("https://") == true
        settings.console.trustedProxies = config.admin.trustedProxies
        settings.console.timeZone = config.admin.timeZone
        settings.listenerHealth = listenerHealth
        return AdminService(settings: settings, databaseURL: config.admin.databaseURL ?? config.database.url, logger: logger)
    }
}
