import ArgumentParser
import Foundation
import HeraldAdmin
import HeraldConfig
import HeraldCore
import HeraldDrivers
import HeraldHTTP
import HeraldInbound
import HeraldOutbox
import HeraldSystemd
import HeraldWorker
import Logging
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the delivery daemon (what the systemd unit starts).")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Exit once nothing is sending and nothing is due within --idle-horizon (demo, drills, one-shot runs).")
    var exitWhenIdle = false

    @Option(help: "With --exit-when-idle: messages due later than this (e.g. deferred to 08:00) are left pending.")
    var idleHorizon: String = "1m"

    func run() async throws {
        let config = try options.load()
        let logger = Logger(label: "herald")
        guard let horizon = DurationText.parse(idleHorizon) else { throw fail("--idle-horizon: not a duration: \(idleHorizon)", code: 64) }
        var settings = WorkerSettings(config: config, exitWhenIdle: exitWhenIdle)
        settings.idleHorizon = horizon
        var metrics = DaemonMetrics()
        var extra: [any Service] = []
        let listen = try await ListenerSetup(config: config, logger: logger)
        // The key signs links (listener on) and bounce addresses (bounce_address set).
        var key = listen?.key
        if key == nil, config.bounceAddress != nil { key = try await ListenerSetup.linkKey(config) }
        settings.pipeline = config.pipelineSettings(linkKey: key)
        if let listen {
            metrics = DaemonMetrics(factory: listen.factory)
            extra.append(listen.listener)
        }
        let lookups = config.channels.values.contains { $0.settings(as: TwilioDriver.Settings.self)?.lookup == true }
            ? LineTypeBook(databaseURL: config.database.url) : nil
        let drivers = try makeDrivers(config, logger: logger, lineTypes: lookups)
        let publicListener = listen?.listener
        let listenerHealth: (@Sendable () async -> (ok: Bool, detail: String))? = publicListener.map { listener in
            { @Sendable in
                guard let port = await listener.boundPort() else { return (false, "not listening") }
                return (true, "listening on port \(port)")
            }
        }
        if let admin = AdminSetup.service(config, pipeline: settings.pipeline, drivers: drivers, logger: logger, listenerHealth: listenerHealth) {
            extra.append(admin)
        }
        let worker = Worker(databaseURL: config.database.url, settings: settings,
                            drivers: drivers, logger: logger, metrics: metrics)
        let group = ServiceGroup(configuration: .init(
            services: worker.services(adding: extra),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "herald.lifecycle", factory: { _ in SwiftLogNoOpLogHandler() })))
        do {
            try await group.run()
        } catch let error as Worker.WorkerError {
            throw fail("\(error)")
        } catch let error as MigrationError {
            throw fail("\(error)")
        } catch {
            throw fail("stopped: \(error)")
        }
    }
}

extension WorkerSettings {
    init(config: Configuration, exitWhenIdle: Bool) {
        let host = ProcessInfo.processInfo.hostName
        self.init(
            workerID: config.worker.id ?? "\(host):\(ProcessInfo.processInfo.processIdentifier)",
            concurrency: config.worker.concurrency, batchSize: config.worker.batchSize,
            pollInterval: config.worker.pollInterval, lease: config.worker.lease,
            shutdownGrace: config.worker.shutdownGrace, listen: config.database.listen,
            maxAttempts: config.retry.maxAttempts, backoff: config.retry.backoff,
            defaultLocale: config.defaultLocale, exitWhenIdle: exitWhenIdle, scheduling: config.scheduling)
        self.smsMaxSegments = config.smsMaxSegments
        self.retention = config.retention.keep
        self.pruneBatch = config.retention.batch
        self.pruneInterval = config.retention.interval
        self.whatsappFallbackAfter = config.channels[.whatsapp] == nil ? nil : config.whatsappFallbackAfter
        self.statementTimeout = config.database.statementTimeout
        self.replies = config.replies
        self.senderLimits = Dictionary(uniqueKeysWithValues: config.channels.map { ($0.key.rawValue, $0.value.limits) })
    }
}

/// One driver per configured channel, each built by its kind from its checked settings.
/// A driver that cannot be built (the loader checked its settings, so this is a bug) stops
/// the command like a configuration error, naming the section. `lineTypes`: where a Twilio
/// channel with `lookup = true` keeps its lookups (the daemon's; without it, no lookup).
func makeDrivers(_ config: Configuration, logger: Logger, lineTypes: (any LineTypeCache)? = nil) throws -> [Channel: any Driver] {
    var drivers: [Channel: any Driver] = [:]
    for (channel, var configuration) in config.channels {
        // Twilio reports delivery to the listener unless the channel names its own callback.
        if let publicURL = config.http.publicURL, config.http.enabled,
           var twilio = configuration.settings(as: TwilioDriver.Settings.self), twilio.statusCallback == nil {
            twilio.statusCallback = publicURL + ListenerSettings.Path.twilioStatus
            configuration = DriverConfiguration(TwilioDriver.self, settings: twilio, limits: configuration.limits)
        }
        if let lineTypes, let twilio = configuration.settings(as: TwilioDriver.Settings.self), twilio.lookup {
            drivers[channel] = TwilioDriver(twilio, lineTypes: lineTypes, logger: logger)
            continue
        }
        do {
            drivers[channel] = try configuration.make(logger: logger)
        } catch {
            throw fail("configuration error: \(config.source): channels.\(channel.rawValue): \(error)", code: 78)
        }
    }
    return drivers
}
