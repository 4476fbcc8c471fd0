import HeraldPostgres
import Logging
import ServiceLifecycle

/// Listens on its own connection for `herald_message` (something became due),
/// `herald_template` and `herald_location` (reload before the next claim), and wakes the
/// claim loop; `herald_inbound` (a client replied) wakes the inbound processor. When the
/// connection is lost it reconnects with backoff; the claim loop polls meanwhile, and is
/// woken once the listener is back (templates and locations reloaded first), so nothing
/// sent or edited while it was down waits for a poll or the next edit.
public final class NotificationListener: Service, Sendable {
    static let channels = ["herald_message", "herald_template", "herald_location", "herald_inbound", "herald_event"]

    let context: DaemonContext
    let connection: PostgresConnection

    public init(databaseURL: String, context: DaemonContext) {
        self.context = context
        self.connection = PostgresConnection(connectionString: databaseURL, applicationName: "herald-listen")
    }

    public func run() async throws {
        let stop = StopFlag()
        await withTaskCancellationOrGracefulShutdownHandler {
            await self.loop(stop)
        } onCancelOrGracefulShutdown: {
            stop.set()
            self.connection.wake()
        }
        await connection.close()
    }

    private func connect() async throws {
        try await connection.connect()
        for channel in Self.channels { try await connection.listen(channel) }
    }

    private func loop(_ stop: StopFlag) async {
        let logger = context.logger
        var delay = Duration.milliseconds(250)
        var down = true
        var first = true
        while !stop.isSet && !Task.isCancelled {
            do {
                if down {
                    try await connect()
                    down = false
                    delay = .milliseconds(250)
                    if !first { logger.notice("notification connection restored") }
                    first = false
                    // Anything that became due, and any template or location edited, before
                    // LISTEN took effect (at startup, or while the connection was down) is
                    // seen now: its notification was never heard.
                    context.hints.withLock { $0.templatesDirty = true }
                    context.dueMayHaveChanged()
                    context.wake.signal()
                }
                let notes = try await connection.waitForNotifications(timeout: .seconds(30))
                if notes.contains(where: { $0.channel == "herald_template" || $0.channel == "herald_location" }) {
                    context.hints.withLock { $0.templatesDirty = true }
                }
                if notes.contains(where: { $0.channel == "herald_event" }) { context.eventWake.signal() }
                if notes.contains(where: { $0.channel != "herald_inbound" && $0.channel != "herald_event" }) {
                    context.dueMayHaveChanged()
                    context.wake.signal()
                }
                if notes.contains(where: { $0.channel == "herald_inbound" }) { context.inboundWake.signal() }
            } catch {
                if stop.isSet { return }
                if !down || first {
                    logger.warning("notification connection lost; polling until it is back", metadata: ["error": "\(error)"])
                    first = false
                }
                down = true
                if await stop.sleep(for: delay) { return }
                delay = min(delay * 2, .seconds(10))
            }
        }
    }
}
