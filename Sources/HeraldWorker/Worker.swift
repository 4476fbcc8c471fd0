import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline
import HeraldPostgres
import HeraldRender
import HeraldScheduling
import HeraldSystemd
import Logging
import ServiceLifecycle
import Synchronization

/// The daemon loop: claim due messages, render, deliver, record.
///
/// - Claims batches with one `FOR UPDATE SKIP LOCKED` statement, only for
///   channels that have a driver, and leases them; renews leases while
///   deliveries run; recovers rows whose lease expired (a worker that died).
/// - Runs up to `concurrency` deliveries at once; records every attempt.
/// - Wakes on `NOTIFY herald_message`, a finished delivery, or the earliest
///   due time, and at least every poll interval.
/// - A lost database connection is logged once and retried with backoff.
/// - On graceful shutdown it stops claiming, lets in-flight deliveries finish
///   within the grace period, and returns the rest to `pending` uncounted.
public actor Worker: Service {
    let settings: WorkerSettings
    let drivers: [Channel: any Driver]
    let logger: Logger
    let notifier: SystemdNotifier
    let renderer = Renderer()

    let main: PostgresConnection
    /// A second connection for writing outcomes, so that recording one batch overlaps
    /// claiming the next (each connection runs one statement at a time).
    let recorder: PostgresConnection
    let recorderStore: OutboxStore
    let listener: PostgresConnection
    let store: OutboxStore
    let wake = WakeSignal()
    let stop = Mutex(StopState())

    private var catalog: TemplateCatalog
    private var planner: SchedulePlanner
    /// Outcomes waiting for the next group commit, and whether one is running.
    var pendingCompletions: [Outcome] = []
    var flushingCompletions = false
    /// When the retention job runs next (at the first maintenance pass, then every `pruneInterval`).
    var nextPrune = ContinuousClock.now
    var templatesDirty = true
    /// Every claim not yet recorded (waiting in `ready`, being delivered, or having its
    /// outcome written), with its lease deadline by our own clock. Their leases are renewed.
    var leases = LeaseBook()
    /// Claims whose lease may have lapsed before they started: returned uncounted once the
    /// database answers.
    var lapsed: [ClaimKey] = []
    /// Claimed messages not started yet, last to start at the front (a claim runs ahead
    /// of free delivery slots, so batch size and concurrency are independent).
    var ready: [OutboxMessage] = []
    /// Deliveries running (each holds one of `concurrency` slots until its driver returns;
    /// writing the outcome does not hold a slot).
    var delivering = 0
    /// When the next pending message falls due, as last asked of the database; asked
    /// again only when something may have changed it (a NOTIFY, a retry or deferral we
    /// wrote, maintenance, or a poll interval without news).
    private var nextDue: ContinuousClock.Instant?
    private var nextDueUnknown = true
    var released: Set<ClaimKey> = []
    /// Whether startup took the advisory lock on `worker.id` (taken again after each reconnect).
    var ownsWorkerID = false
    var reconnecting: [Link: Task<Void, any Error>] = [:]
    var outageSince: ContinuousClock.Instant?
    private var lastWatchdog = ContinuousClock.now
    var counters = (sent: 0, retried: 0, failed: 0)

    struct StopState {
        var requested = false
        /// Past the grace period: give up on the database and exit.
        var hard = false
        /// When the grace period ends (set by the first stop request).
        var graceDeadline: ContinuousClock.Instant?
    }

    /// Errors that end ``run()``.
    public enum WorkerError: Error, CustomStringConvertible {
        case noChannels
        /// Another running daemon holds the advisory lock on this `worker.id`.
        case duplicateWorkerID(String)

        public var description: String {
            switch self {
            case .noChannels: return "no channel has a driver: configure at least one [channels.<name>] section"
            case .duplicateWorkerID(let id):
                return "another herald is running with worker.id \"\(id)\" on this database; give each daemon its own worker.id (or leave it unset: host name and process id)"
            }
        }
    }

    public init(databaseURL: String, settings: WorkerSettings, drivers: [Channel: any Driver],
                logger: Logger, notifier: SystemdNotifier = SystemdNotifier()) {
        self.settings = settings
        self.drivers = drivers
        self.logger = logger
        self.notifier = notifier
        self.main = PostgresConnection(connectionString: databaseURL, applicationName: "herald", statementTimeout: settings.statementTimeout)
        self.listener = PostgresConnection(connectionString: databaseURL, applicationName: "herald-listen")
        self.store = OutboxStore(connection: main, workerID: settings.workerID)
        self.recorder = PostgresConnection(connectionString: databaseURL, applicationName: "herald-record", statementTimeout: settings.statementTimeout)
        self.recorderStore = OutboxStore(connection: recorder, workerID: settings.workerID)
        self.catalog = TemplateCatalog(records: [], defaultLocale: settings.defaultLocale)
        self.planner = SchedulePlanner(policy: settings.scheduling, records: [])
    }

    /// The current instant for the rules.
    nonisolated var now: Date { settings.clock?() ?? Date() }

    var channelNames: [String] { drivers.keys.map(\.rawValue).sorted() }

    // MARK: Service

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped()
        } onGracefulShutdown: {
            self.requestStop()
        }
    }

    /// Begins a graceful shutdown (what SIGTERM does). Safe from any context.
    public nonisolated func requestStop() {
        let grace = settings.shutdownGrace
        stop.withLock {
            $0.requested = true
            if $0.graceDeadline == nil { $0.graceDeadline = .now + grace }
        }
        wake.signal()
        listener.wake()
    }

    nonisolated var stopRequested: Bool { stop.withLock { $0.requested } }
    nonisolated var hardStop: Bool { stop.withLock { $0.hard } }
    /// When a requested stop's grace period ends; nil while running.
    nonisolated var graceDeadline: ContinuousClock.Instant? { stop.withLock { $0.graceDeadline } }

    func runUntilStopped() async throws {
        guard !drivers.isEmpty else { throw WorkerError.noChannels }
        do {
            try await startup()
        } catch where stopRequested {
            logger.notice("stopped before startup completed", metadata: ["error": "\(error)"])
            return
        }
        await withDiscardingTaskGroup { group in
            if settings.listen { group.addTask { await self.listenLoop() } }
            group.addTask { await self.renewLoop() }
            await self.claimLoop(group: &group)
            await self.drain()
            if !leases.isEmpty || outageSince != nil {
                // Past the grace period with the database unreachable or silent: a statement
                // still blocked in libpq is cut off so that the process can exit.
                main.abort()
                recorder.abort()
            }
            group.cancelAll()
            listener.wake()
        }
        await main.close()
        await recorder.close()
        await listener.close()
        logger.notice("herald stopped", metadata: ["sent": "\(counters.sent)", "retried": "\(counters.retried)", "failed": "\(counters.failed)"])
    }

    // MARK: Startup

    private func startup() async throws {
        try await withDatabase { _ in }
        try await Migrator(connection: main).verifyCurrent()
        // One daemon per worker id: it takes back its own leases below, which is only safe
        // when no other daemon with the same id is running.
        guard try await withDatabase(retryOnLoss: false, { try await $0.lockWorkerID() }) else {
            throw WorkerError.duplicateWorkerID(settings.workerID)
        }
        ownsWorkerID = true
        if settings.listen {
            try await connectListener()
        }
        let own = try await withDatabase { try await $0.recoverExpiredLeases(defaultMaxAttempts: self.settings.maxAttempts, limit: 10_000, includeOwn: true) }
        if !own.isEmpty {
            logger.warning("recovered messages left by a previous run of this worker", metadata: ["count": "\(own.count)"])
        }
        let waiting = try await withDatabase { try await $0.waitingCounts(excluding: self.channelNames) }
        for (channel, count) in waiting.sorted(by: { $0.key < $1.key }) {
            logger.warning("channel has no driver configured; its messages wait", metadata: ["channel": "\(channel)", "waiting": "\(count)"])
        }
        try await reloadTemplates()
        let summary = "ready: worker \(settings.workerID), channels \(channelNames.joined(separator: ","))"
        logger.notice("herald ready", metadata: [
            "worker": "\(settings.workerID)", "channels": "\(channelNames.joined(separator: ","))",
            "concurrency": "\(settings.concurrency)", "batch": "\(settings.batchSize)",
        ])
        notifier.ready(status: summary)
    }

    func connectListener() async throws {
        try await listener.connect()
        try await listener.listen("herald_message")
        try await listener.listen("herald_template")
        try await listener.listen("herald_location")
    }

    private func reloadTemplates() async throws {
        templatesDirty = false
        let records = try await withDatabase { try await $0.templates() }
        let partials = try await withDatabase { try await $0.partials() }
        catalog = TemplateCatalog(records: records, partials: partials, defaultLocale: settings.defaultLocale)
        for problem in catalog.problems {
            logger.error("template cannot be used; its messages will fail", metadata: ["error": "\(problem)"])
        }
        let locations = try await withDatabase { try await $0.locations() }
        planner = SchedulePlanner(policy: settings.scheduling, records: locations)
        for (id, reason) in planner.invalidLocations.sorted(by: { $0.key < $1.key }) {
            logger.error("location cannot be used; its messages will fail", metadata: ["location": "\(id)", "error": "\(reason)"])
        }
        logger.debug("templates and locations loaded", metadata: ["templates": "\(catalog.count)", "locations": "\(locations.count)"])
    }

    // MARK: Main loop

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        var nextMaintenance = ContinuousClock.now
        var nextStatus = ContinuousClock.now + .seconds(10)
        let maintenanceEvery = min(settings.lease / 2, .seconds(30))
        while !stopRequested {
            pingWatchdog()
            do {
                if templatesDirty { try await reloadTemplates() }
                let now = ContinuousClock.now
                if now >= nextMaintenance {
                    nextMaintenance = now + maintenanceEvery
                    try await maintenance()
                }
                if now >= nextStatus {
                    nextStatus = now + .seconds(10)
                    notifier.status("in flight \(leases.count); sent \(counters.sent), retried \(counters.retried), failed \(counters.failed)")
                }
                if !lapsed.isEmpty { try await releaseLapsed() }
                startReady(group: &group)
                var claimedPartly = false
                // Claim when every claimed message has started, a slot is free, and the
                // outcomes still being written are few enough (the next claim overlaps
                // writing the last batch's outcomes, without running far ahead of it).
                if ready.isEmpty && delivering < settings.concurrency && leases.count - delivering < unrecordedLimit {
                    let limit = settings.batchSize
                    let at = settings.clock?()
                    let sentAt = ContinuousClock.now
                    let messages = try await withDatabase { try await $0.claim(channels: self.channelNames, limit: limit, lease: self.settings.lease, now: at) }
                    leases.hold(messages.map(\.claimKey), sentAt: sentAt, lease: settings.lease)
                    ready = messages.reversed()
                    startReady(group: &group)
                    claimedPartly = messages.count < limit
                    if messages.isEmpty && leases.isEmpty && settings.exitWhenIdle {
                        let busy = try await withDatabase {
                            try await $0.hasUnfinishedWork(channels: self.channelNames, horizon: self.settings.idleHorizon, now: self.settings.clock?())
                        }
                        if !busy {
                            logger.notice("outbox drained; exiting (--exit-when-idle)")
                            requestStop()
                            break
                        }
                    }
                    if !claimedPartly && delivering < settings.concurrency { continue }  // a full batch: more may be due
                }
                var timeout = settings.pollInterval
                if claimedPartly {
                    // Nothing more is due now: sleep until the next due time (asked only when unknown).
                    if nextDueUnknown {
                        nextDueUnknown = false
                        nextDue = try await withDatabase { try await $0.secondsUntilNextDue(channels: self.channelNames) }
                            .map { ContinuousClock.now + Duration.clamped(seconds: max(0.02, $0)) }
                    }
                }
                if let due = nextDue {
                    let wait = due - ContinuousClock.now
                    if wait <= .zero { nextDue = nil; nextDueUnknown = true; continue }
                    timeout = min(timeout, wait)
                }
                if let watchdog = notifier.watchdogInterval { timeout = min(timeout, watchdog) }
                if settings.exitWhenIdle { timeout = min(timeout, .milliseconds(500)) }
                if await !wake.wait(timeout: timeout) { nextDueUnknown = true }  // a quiet interval: look again
            } catch {
                if stopRequested { break }
                logger.error("worker loop error; retrying", metadata: ["error": "\(error)"])
                await wake.wait(timeout: .seconds(1))
            }
        }
    }

    /// Most outcomes waiting to be written before claiming pauses: two batches and a
    /// round of deliveries. Bounds what a crash can leave `sending` (and send twice).
    private var unrecordedLimit: Int { 2 * settings.batchSize + settings.concurrency }

    /// Starts claimed messages while delivery slots are free.
    private func startReady(group: inout DiscardingTaskGroup) {
        guard !ready.isEmpty else { return }
        let pipeline = currentPipeline
        while delivering < settings.concurrency, let message = nextStartable() {
            delivering += 1
            group.addTask { await self.runSlot(Work(message: message, pipeline: pipeline)) }
        }
    }

    /// The next claimed message whose lease is sure to last a while (half a lease); those
    /// whose lease may have lapsed (renewals failed: the database is unreachable) are set
    /// aside to be returned uncounted, never started: another worker may own them by now.
    private func nextStartable() -> OutboxMessage? {
        let now = ContinuousClock.now
        while let message = ready.popLast() {
            if leases.mayStart(message.claimKey, now: now, margin: settings.lease / 2) { return message }
            lapsed.append(message.claimKey)
        }
        return nil
    }

    /// Returns the claims set aside by ``nextStartable()`` to pending, uncounted (attempt-checked:
    /// one taken over meanwhile is left to its new owner).
    private func releaseLapsed() async throws {
        let claims = lapsed
        let count = try await withDatabase { try await $0.release(claims) }
        lapsed.removeAll { claims.contains($0) }
        for claim in claims { finished(claim, result: nil, signal: false) }
        dueMayHaveChanged()
        logger.warning("returned claims whose lease may have lapsed before they started (database unreachable for too long)",
                       metadata: ["claims": "\(claims.count)", "released": "\(count)"])
    }

    /// A claimed message with the templates and rules current when it started.
    struct Work: Sendable {
        let message: OutboxMessage
        let pipeline: Pipeline
    }

    /// The rules and templates as loaded now.
    private var currentPipeline: Pipeline {
        Pipeline(catalog: catalog, planner: planner, smsMaxSegments: settings.smsMaxSegments)
    }

    /// One delivery slot: delivers claimed messages one after another while some are
    /// ready, handing each outcome to the group commit without waiting for it to be
    /// written (one hop to the actor per message, no wake-up of the claim loop).
    nonisolated func runSlot(_ first: Work) async {
        var work: Work? = first
        while let current = work {
            let outcome = await deliver(current)
            work = await handOver(outcome)
        }
    }

    /// Queues an outcome for writing, then gives the slot its next message, or frees it.
    private func handOver(_ outcome: Outcome?) -> Work? {
        if let outcome {
            let claim = outcome.claim
            if released.contains(claim) {
                finished(claim, result: nil)  // returned to pending at shutdown: nothing to record
            } else {
                pendingCompletions.append(outcome)
                if !flushingCompletions {
                    flushingCompletions = true
                    Task { await self.flushCompletions() }
                }
            }
        }
        if !stopRequested, let message = nextStartable() {
            return Work(message: message, pipeline: currentPipeline)
        }
        delivering -= 1
        wake.signal()
        return nil
    }

    /// Something may have made a message due earlier than `nextDue` (a NOTIFY, a retry or
    /// deferral written): the next partial claim asks the database again.
    func dueMayHaveChanged() {
        nextDueUnknown = true
        nextDue = nil
    }

    func pingWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let now = ContinuousClock.now
        if now - lastWatchdog >= interval / 2 {
            notifier.watchdog()
            lastWatchdog = now
        }
    }

    /// A claimed message is done with (recorded, rescheduled or given back). `signal`
    /// wakes the claim loop, which may claim again; a flush signals once per batch.
    func finished(_ claim: ClaimKey, result: Completion.Result?, signal: Bool = true) {
        leases.remove(claim)
        released.remove(claim)
        switch result {
        case .sent: counters.sent += 1
        case .retry: counters.retried += 1
        case .failed: counters.failed += 1
        case nil: break
        }
        if signal { wake.signal() }
    }
}

extension Completion.Result {
    /// The message status this result leads to.
    var status: MessageStatus {
        switch self {
        case .sent: return .sent
        case .retry: return .pending
        case .failed: return .failed
        }
    }
}
