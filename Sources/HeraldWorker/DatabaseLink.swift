import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Logging
import ServiceLifecycle
import Synchronization

/// One supervised database connection of the daemon: every statement runs through
/// ``withDatabase(retryOnLoss:_:)``, which reconnects with backoff after a connection loss
/// (logging the outage once) and gives up when a stop's grace period is over.
///
/// The daemon has two: `main` (claims, leases, scheduling decisions, maintenance) and
/// `recorder` (outcomes), so that recording one batch overlaps claiming the next.
public final class DatabaseLink: Sendable {
    /// The connection, its stores and what is known of it.
    let supervised: SupervisedConnection
    var connection: PostgresConnection { supervised.connection }
    var store: Stores { supervised.stores }
    private let context: DaemonContext
    /// Whether this link holds the advisory lock on `worker.id` (taken again after each reconnect).
    private let holdsWorkerID: Bool
    private let state = Mutex(State())

    private struct State {
        var reconnecting: Task<Void, any Error>?
        var ownsWorkerID = false
    }

    init(databaseURL: String, applicationName: String, context: DaemonContext, holdsWorkerID: Bool, settings: [String: String] = [:]) {
        self.context = context
        self.holdsWorkerID = holdsWorkerID
        self.supervised = SupervisedConnection(databaseURL: databaseURL, applicationName: applicationName,
                                               statementTimeout: context.settings.statementTimeout, workerID: context.settings.workerID,
                                               settings: settings)
    }

    /// The planner settings of a link whose statements find their messages by id (the
    /// outcomes, the last look): a plan made while the outbox was empty, or analysed
    /// empty, would otherwise scan the whole table for every batch until the next
    /// analyse (18 ms a call at 60,000 rows instead of a few index probes); without scans
    /// or hash and merge joins to choose, the planner takes the primary key whatever the
    /// statistics say.
    static let byIDSettings = ["enable_seqscan": "off", "enable_hashjoin": "off", "enable_mergejoin": "off"]

    /// True while the database is known to be unreachable (since the first failure on
    /// either link, until one of them reconnects): one outage is logged once.
    var inOutage: Bool { context.outageSince.withLock { $0 != nil } }

    /// Takes the advisory lock on `worker.id` (startup); false when another daemon holds it.
    func lockWorkerID() async throws -> Bool {
        let locked = try await withDatabase(retryOnLoss: false) { try await $0.messages.lockWorkerID() }
        if locked { state.withLock { $0.ownsWorkerID = true } }
        return locked
    }

    /// Runs `operation`; on connection loss, reconnects with backoff and runs it again, or,
    /// with `retryOnLoss` false, reconnects and rethrows (the caller decides how to retry: a
    /// write whose commit may have happened must be replayed as such).
    func withDatabase<T: Sendable>(retryOnLoss: Bool = true, _ operation: @Sendable (Stores) async throws -> T) async throws -> T {
        while true {
            do {
                if !(await connection.isConnected) { try await reconnect() }
                return try await operation(store)
            } catch let error as PostgresError where error.isConnectionLoss {
                if context.hardStop { throw error }
                // A connection made before the last outage began (an idle one that learns of
                // the restart only now) belongs to that outage: reconnect without a new alarm.
                supervised.noteLost()
                if !context.predatesLastOutage(supervised.connectedAt) { noteOutage(error) }
                try await reconnect()
                if !retryOnLoss { throw error }
            }
        }
    }

    /// Runs a write (a scheduling decision, an opt-out) across lost connections and
    /// transient errors until it is stored. It gives up, logging why, on a statement error
    /// that would fail every time, and past the shutdown grace: the lease then expires and
    /// the message is taken over. `failed` is what to return then.
    func persist<T: Sendable>(_ ids: String, what: String, failed: T, _ write: @Sendable (Stores) async throws -> T) async -> T {
        let logger = context.logger
        while true {
            do {
                return try await withDatabase { try await write($0) }
            } catch {
                if context.hardStop {
                    logger.error("could not record \(what) before exit; the lease will expire and the message be retried",
                                 metadata: ["message": "\(ids)", "error": "\(error)"])
                    return failed
                }
                if let pg = error as? PostgresError, !pg.isTransient {
                    logger.error("could not record \(what); giving up (the statement fails the same way every time); the lease will expire and the message be retried",
                                 metadata: ["message": "\(ids)", "error": "\(error)"])
                    return failed
                }
                logger.error("could not record \(what); retrying", metadata: ["message": "\(ids)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func noteOutage(_ error: PostgresError) {
        guard context.beginOutage() else { return }
        context.logger.error("database connection lost; reconnecting with backoff", metadata: ["error": "\(error)"])
        context.notifier.status("database unreachable; reconnecting")
    }

    /// One reconnect loop at a time per link; concurrent callers wait for the same one.
    private func reconnect() async throws {
        let task = state.withLock { s -> Task<Void, any Error> in
            if let running = s.reconnecting { return running }
            let task = Task { try await self.reconnectLoop() }
            s.reconnecting = task
            return task
        }
        defer { state.withLock { if $0.reconnecting == task { $0.reconnecting = nil } } }
        try await task.value
    }

    private func reconnectLoop() async throws {
        let logger = context.logger
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await supervised.connect()
                if holdsWorkerID, state.withLock({ $0.ownsWorkerID }), try await !store.messages.lockWorkerID() {
                    // Another daemon with our id started while we were disconnected.
                    logger.critical("another herald took worker.id while the connection was down; stopping",
                                    metadata: ["worker": "\(context.settings.workerID)"])
                    context.requestStop()
                }
                if let since = context.endOutage() {
                    logger.notice("database connection restored", metadata: ["outage_s": "\(DurationText.format(ContinuousClock.now - since))"])
                }
                return
            } catch let error as PostgresError where error.isConnectionLoss {
                if context.givingUp { throw error }
                if context.beginOutage() { logger.error("cannot connect to the database; retrying with backoff", metadata: ["error": "\(error)"]) }
                context.pingWatchdog()
                var pause = delay
                if let deadline = context.graceDeadline { pause = max(.milliseconds(10), min(pause, deadline - ContinuousClock.now)) }
                try? await Task.sleep(for: pause)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

/// The daemon's two supervised connections, as the first service of the group: started
/// first and stopped last, so every other service can use them until it is done; closes
/// them when the group shuts down.
public final class DatabaseLinks: Service, Sendable {
    /// Claims, leases, scheduling decisions, maintenance.
    public let main: DatabaseLink
    /// Outcomes (``OutcomeWriter``).
    public let recorder: DatabaseLink
    /// Client replies and receipts (``InboundProcessor``). It and ``events`` run
    /// transactions of several statements, so each has a connection no other service's
    /// statements can land inside.
    public let inbound: DatabaseLink
    /// Event expansion (``EventExpander``).
    public let events: DatabaseLink
    /// The look just before a driver is called (``SendGate``): on its own connection so
    /// that it never waits behind a claim or a batch of outcomes.
    public let gate: DatabaseLink

    public init(databaseURL: String, context: DaemonContext) {
        main = DatabaseLink(databaseURL: databaseURL, applicationName: "herald", context: context, holdsWorkerID: true)
        recorder = DatabaseLink(databaseURL: databaseURL, applicationName: "herald-record", context: context, holdsWorkerID: false,
                                settings: DatabaseLink.byIDSettings)
        inbound = DatabaseLink(databaseURL: databaseURL, applicationName: "herald-inbound", context: context, holdsWorkerID: false)
        events = DatabaseLink(databaseURL: databaseURL, applicationName: "herald-events", context: context, holdsWorkerID: false)
        gate = DatabaseLink(databaseURL: databaseURL, applicationName: "herald-gate", context: context, holdsWorkerID: false,
                            settings: DatabaseLink.byIDSettings)
    }

    public func run() async throws {
        // Nothing to do until the group shuts down (or is cancelled): then close, last.
        try? await gracefulShutdown()
        await main.connection.close()
        await recorder.connection.close()
        await inbound.connection.close()
        await events.connection.close()
        await gate.connection.close()
    }

    /// Cuts off statements blocked in libpq (past the grace period, database silent).
    func abort() {
        main.connection.abort()
        recorder.connection.abort()
        inbound.connection.abort()
        events.connection.abort()
        gate.connection.abort()
    }
}
