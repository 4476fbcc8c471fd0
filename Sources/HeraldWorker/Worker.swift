import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
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

    private let main: PostgresConnection
    /// A second connection for writing outcomes, so that recording one batch overlaps
    /// claiming the next (each connection runs one statement at a time).
    private let recorder: PostgresConnection
    private let recorderStore: OutboxStore
    private let listener: PostgresConnection
    private let store: OutboxStore
    private let wake = WakeSignal()
    private let stop = Mutex(StopState())

    private var catalog: TemplateCatalog
    private var planner: SchedulePlanner
    /// Outcomes waiting for the next group commit, and whether one is running.
    private var pendingCompletions: [Outcome] = []
    private var flushingCompletions = false
    /// When the retention job runs next (at the first maintenance pass, then every `pruneInterval`).
    private var nextPrune = ContinuousClock.now
    private var templatesDirty = true
    /// Ids of every claimed message not yet recorded: waiting in `ready`, being
    /// delivered, or having its outcome written. Their leases are renewed.
    private var inFlight: Set<Int64> = []
    /// Claimed messages not started yet, last to start at the front (a claim runs ahead
    /// of free delivery slots, so batch size and concurrency are independent).
    private var ready: [OutboxMessage] = []
    /// Deliveries running (each holds one of `concurrency` slots until its driver returns;
    /// writing the outcome does not hold a slot).
    private var delivering = 0
    /// When the next pending message falls due, as last asked of the database; asked
    /// again only when something may have changed it (a NOTIFY, a retry or deferral we
    /// wrote, maintenance, or a poll interval without news).
    private var nextDue: ContinuousClock.Instant?
    private var nextDueUnknown = true
    private var released: Set<Int64> = []
    private var reconnecting: [Link: Task<Void, any Error>] = [:]
    private var outageSince: ContinuousClock.Instant?
    private var lastWatchdog = ContinuousClock.now
    private var counters = (sent: 0, retried: 0, failed: 0)

    struct StopState {
        var requested = false
        /// Past the grace period: give up on the database and exit.
        var hard = false
    }

    /// Errors that end ``run()``.
    public enum WorkerError: Error, CustomStringConvertible {
        case noChannels

        public var description: String {
            switch self {
            case .noChannels: return "no channel has a driver: configure at least one [channels.<name>] section"
            }
        }
    }

    public init(databaseURL: String, settings: WorkerSettings, drivers: [Channel: any Driver],
                logger: Logger, notifier: SystemdNotifier = SystemdNotifier()) {
        self.settings = settings
        self.drivers = drivers
        self.logger = logger
        self.notifier = notifier
        self.main = PostgresConnection(connectionString: databaseURL, applicationName: "herald")
        self.listener = PostgresConnection(connectionString: databaseURL, applicationName: "herald-listen")
        self.store = OutboxStore(connection: main, workerID: settings.workerID)
        self.recorder = PostgresConnection(connectionString: databaseURL, applicationName: "herald-record")
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
        stop.withLock { $0.requested = true }
        wake.signal()
        listener.wake()
    }

    nonisolated var stopRequested: Bool { stop.withLock { $0.requested } }
    nonisolated var hardStop: Bool { stop.withLock { $0.hard } }

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

    private func connectListener() async throws {
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
                    notifier.status("in flight \(inFlight.count); sent \(counters.sent), retried \(counters.retried), failed \(counters.failed)")
                }
                startReady(group: &group)
                var claimedPartly = false
                // Claim when every claimed message has started, a slot is free, and the
                // outcomes still being written are few enough (the next claim overlaps
                // writing the last batch's outcomes, without running far ahead of it).
                if ready.isEmpty && delivering < settings.concurrency && inFlight.count - delivering < unrecordedLimit {
                    let limit = settings.batchSize
                    let at = settings.clock?()
                    let messages = try await withDatabase { try await $0.claim(channels: self.channelNames, limit: limit, lease: self.settings.lease, now: at) }
                    for message in messages { inFlight.insert(message.id) }
                    ready = messages.reversed()
                    startReady(group: &group)
                    claimedPartly = messages.count < limit
                    if messages.isEmpty && inFlight.isEmpty && settings.exitWhenIdle {
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
        let snapshot = catalog
        let rules = planner
        while delivering < settings.concurrency, let message = ready.popLast() {
            delivering += 1
            group.addTask { await self.runSlot(Work(message: message, catalog: snapshot, planner: rules)) }
        }
    }

    /// A claimed message with the templates and rules current when it started.
    struct Work: Sendable {
        let message: OutboxMessage
        let catalog: TemplateCatalog
        let planner: SchedulePlanner
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
            let id = outcome.completion.messageID
            if released.contains(id) {
                finished(id, result: nil)  // returned to pending at shutdown: nothing to record
            } else {
                pendingCompletions.append(outcome)
                if !flushingCompletions {
                    flushingCompletions = true
                    Task { await self.flushCompletions() }
                }
            }
        }
        if !stopRequested, let message = ready.popLast() {
            return Work(message: message, catalog: catalog, planner: planner)
        }
        delivering -= 1
        wake.signal()
        return nil
    }

    /// Something may have made a message due earlier than `nextDue` (a NOTIFY, a retry or
    /// deferral written): the next partial claim asks the database again.
    private func dueMayHaveChanged() {
        nextDueUnknown = true
        nextDue = nil
    }

    private func maintenance() async throws {
        if let keep = settings.retention, ContinuousClock.now >= nextPrune {
            nextPrune = ContinuousClock.now + settings.pruneInterval
            try await prune(keep: keep)
        }
        let recovered = try await withDatabase { try await $0.recoverExpiredLeases(defaultMaxAttempts: self.settings.maxAttempts) }
        if !recovered.isEmpty { dueMayHaveChanged() }
        for row in recovered {
            logger.warning("lease expired; message taken over from a stopped worker", metadata: [
                "message": "\(row.id)", "previous_worker": "\(row.previousWorker)", "status": "\(row.status)",
            ])
        }
    }

    /// Deletes finished messages older than `keep`, one short batch at a time, at most
    /// 100 batches a run so that claiming never waits long behind it.
    private func prune(keep: Duration) async throws {
        var deleted = 0
        for _ in 0..<100 {
            let n = try await withDatabase { try await $0.pruneBatch(keep: keep, batchSize: self.settings.pruneBatch) }
            deleted += n
            pingWatchdog()
            if n < settings.pruneBatch { break }
        }
        if deleted > 0 {
            logger.notice("pruned finished messages", metadata: ["deleted": "\(deleted)", "older_than": "\(DurationText.format(keep))"])
        }
    }

    private func pingWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let now = ContinuousClock.now
        if now - lastWatchdog >= interval / 2 {
            notifier.watchdog()
            lastWatchdog = now
        }
    }

    // MARK: Deliveries

    /// A delivery's result, waiting to be written, with what its log line needs.
    struct Outcome: Sendable {
        var completion: Completion
        let channel: String
        let recipient: String
        let startedAt: ContinuousClock.Instant
        /// Set when the provider reported an opt-out: recorded once the outcome is written.
        let optOut: String?
    }

    /// Applies the scheduling rules, then renders and delivers one claimed message.
    /// Returns the outcome to record, or nil when there is none (deferred, expired,
    /// or released at shutdown).
    nonisolated func deliver(_ work: Work) async -> Outcome? {
        let message = work.message
        let startedAt = Date()
        let clock = ContinuousClock.now
        let driverName = Channel(rawValue: message.channel).flatMap { drivers[$0]?.name } ?? "-"
        var rendered: RenderedMessage?
        let result: Result<DeliveryReceipt, DeliveryError>
        switch await attempt(message, catalog: work.catalog, planner: work.planner) {
        case .handled:
            return nil
        case .failed(let error, let r):
            rendered = r
            result = .failure(error)
        case .delivered(let r, let outcome):
            rendered = r
            result = outcome
        }

        let maxAttempts = message.maxAttempts ?? settings.maxAttempts
        var completion = Completion(messageID: message.id, attempt: message.attempt, result: .sent, driver: driverName,
                                    startedAt: startedAt, finishedAt: Date(), rendered: rendered)
        var optOut: String?
        switch result {
        case .success(let receipt):
            completion.providerMessageID = receipt.providerMessageID.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
            completion.responseCode = receipt.responseCode.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
        case .failure(let error):
            // Provider text is capped and freed of NULs before it is logged or stored.
            let reason = SafeText.clean(error.reason)
            completion.responseCode = error.code.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
            if case .optedOut = error { optOut = reason }
            if case .transient(_, _, let retryAfter) = error, message.attempt < maxAttempts {
                completion.result = .retry
                completion.error = reason
                completion.retryIn = settings.backoff.delay(afterAttempt: message.attempt, retryAfter: retryAfter)
            } else {
                completion.result = .failed
                completion.error = error.isTransient
                    ? SafeText.clean("gave up after \(message.attempt) attempts: \(reason)")
                    : reason
            }
        }
        return Outcome(completion: completion, channel: message.channel, recipient: message.recipient, startedAt: clock, optOut: optOut)
    }

    /// After an outcome is written (or found taken over): the opt-out it reported, its log
    /// line, and the bookkeeping.
    private func settle(_ outcome: Outcome, recorded: Bool) {
        let completion = outcome.completion
        let id = completion.messageID
        let millis = Int(clampingRounded: (ContinuousClock.now - outcome.startedAt).seconds * 1000)
        var metadata: Logger.Metadata = [
            "message": "\(id)", "channel": "\(outcome.channel)", "status": "\(recorded ? completion.result.statusName : "discarded")",
            "attempt": "\(completion.attempt)", "duration_ms": "\(millis)", "driver": "\(completion.driver)",
        ]
        if let error = completion.error { metadata["error"] = "\(error)" }
        if let retryIn = completion.retryIn { metadata["retry_in"] = "\(DurationText.format(retryIn))" }
        if let providerID = completion.providerMessageID { metadata["provider_id"] = "\(providerID)" }
        if !recorded {
            logger.warning("delivery finished after the lease was taken over; result discarded", metadata: metadata)
        } else {
            switch completion.result {
            case .sent: logger.info("delivered", metadata: metadata)
            case .retry: logger.warning("delivery failed; will retry", metadata: metadata)
            case .failed: logger.error("delivery failed", metadata: metadata)
            }
        }
        if recorded && completion.result == .retry { dueMayHaveChanged() }
        if recorded, let reason = outcome.optOut {
            // Kept in flight until the opt-out is stored, so shutdown waits for it.
            let (channel, recipient) = (outcome.channel, outcome.recipient)
            Task {
                _ = await self.persist(id, what: "opt-out") {
                    try await $0.recordOptOut(channel: channel, recipient: recipient, reason: reason)
                    return true
                }
                self.finished(id, result: completion.result)
            }
            return
        }
        finished(id, result: recorded ? completion.result : nil, signal: false)
    }

    /// What became of one claimed message before its outcome is recorded.
    enum Step: Sendable {
        /// Deferred, expired, or released at shutdown: nothing more to record.
        case handled
        /// Failed before reaching a driver (unknown channel, bad schedule, bad template or data),
        /// with what was rendered if rendering got that far (an over-long SMS).
        case failed(DeliveryError, RenderedMessage? = nil)
        /// Handed to the driver.
        case delivered(RenderedMessage, Result<DeliveryReceipt, DeliveryError>)
    }

    /// Rules, then rendering, then the driver.
    nonisolated func attempt(_ message: OutboxMessage, catalog: TemplateCatalog, planner: SchedulePlanner) async -> Step {
        guard let channel = Channel(rawValue: message.channel) else {
            return .failed(.permanent("unknown channel \"\(message.channel)\"; expected sms, email or webhook"))
        }
        guard let driver = drivers[channel] else {
            return .failed(.permanent("no driver configured for channel \(channel.rawValue)"))
        }
        let timeZone: String
        let now = self.now
        switch planner.evaluate(message, channel: channel, at: now) {
        case .failure(let error):
            return .failed(.permanent(error.description))
        case .success(let explanation):
            timeZone = explanation.timeZone
            switch explanation.decision {
            case .send:
                break
            case .deferred(let until, let reasons):
                await reschedule(message, explanation: explanation) {
                    try await $0.deferMessage(message.id, until: until, reason: "deferred: \(reasons.joined(separator: "; "))")
                }
                return .handled
            case .expired(let reason):
                await reschedule(message, explanation: explanation) { try await $0.expireMessage(message.id, reason: "expired: \(reason)") }
                return .handled
            }
        }
        let rendered: RenderedMessage
        let context = planner.renderContext(for: message, timeZone: timeZone, now: now, smsMaxSegments: settings.smsMaxSegments)
        switch renderer.render(message, channel: channel, catalog: catalog, context: context) {
        case .failure(let error):
            return .failed(.permanent(error.description), error.rendered)
        case .success(let r): rendered = r
        }
        do {
            return .delivered(rendered, .success(try await driver.deliver(rendered)))
        } catch let error as DeliveryError {
            return .delivered(rendered, .failure(error))
        } catch {
            if await isReleased(message.id) { return .handled }
            return .delivered(rendered, .failure(.transient(String(describing: error))))
        }
    }

    private func isReleased(_ id: Int64) -> Bool { released.contains(id) }

    /// Records a deferral or an expiry (neither is an attempt) and logs one line.
    private func reschedule(_ message: OutboxMessage, explanation: Explanation, _ write: @Sendable (OutboxStore) async throws -> Bool) async {
        var metadata: Logger.Metadata = [
            "message": "\(message.id)", "channel": "\(message.channel)", "time_zone": "\(explanation.timeZone)",
        ]
        let kept = await persist(message.id, what: "a scheduling decision", write)
        dueMayHaveChanged()
        switch explanation.decision {
        case .deferred(let until, let reasons):
            metadata["status"] = "pending"
            metadata["until"] = "\(Int64(clampingFloor: until.timeIntervalSince1970))"
            metadata["reason"] = "\(reasons.joined(separator: "; "))"
            if kept { logger.info("deferred", metadata: metadata) }
        case .expired(let reason):
            metadata["status"] = "expired"
            metadata["reason"] = "\(reason)"
            if kept { logger.warning("expired; not sent", metadata: metadata) }
        case .send:
            break
        }
        finished(message.id, result: nil)
    }

    /// A claimed message is done with (recorded, rescheduled or given back). `signal`
    /// wakes the claim loop, which may claim again; a flush signals once per batch.
    private func finished(_ id: Int64, result: Completion.Result?, signal: Bool = true) {
        inFlight.remove(id)
        released.remove(id)
        switch result {
        case .sent: counters.sent += 1
        case .retry: counters.retried += 1
        case .failed: counters.failed += 1
        case nil: break
        }
        if signal { wake.signal() }
    }

    /// Outcomes are group-committed: the first one starts a flush; those that arrive while
    /// it runs go together in the next one (one `complete` statement for up to
    /// ``maxCompletionBatch`` rows), on the recorder connection, retrying across
    /// connection losses until stored (or shutdown gives up). An idle worker writes each
    /// at once; a busy one writes many per round trip, with no timer adding latency.
    static let maxCompletionBatch = 500

    private func flushCompletions() async {
        while !pendingCompletions.isEmpty {
            let batch = Array(pendingCompletions.prefix(Self.maxCompletionBatch))
            pendingCompletions.removeFirst(batch.count)
            let completions = batch.map(\.completion)
            let kept = await persist(completions.count == 1 ? String(completions[0].messageID) : "\(completions.count) messages",
                                     what: "the outcome", failed: Set<Int64>(), on: .recorder) {
                try await $0.complete(completions)
            }
            for outcome in batch { settle(outcome, recorded: kept.contains(outcome.completion.messageID)) }
            wake.signal()
        }
        flushingCompletions = false
    }

    /// Runs a lease-checked write for one message, retrying across errors until it is
    /// stored; past the shutdown grace it gives up (the lease then expires and another
    /// worker takes the message over). Returns whether our lease was still held.
    private func persist(_ id: Int64, what: String, _ write: @Sendable (OutboxStore) async throws -> Bool) async -> Bool {
        await persist(String(id), what: what, failed: false, write)
    }

    /// The same for any write: `failed` is what to return when shutdown gives up.
    private func persist<T: Sendable>(_ ids: String, what: String, failed: T, on link: Link = .main,
                                      _ write: @Sendable (OutboxStore) async throws -> T) async -> T {
        while true {
            do {
                return try await withDatabase(on: link) { try await write($0) }
            } catch {
                if hardStop {
                    logger.error("could not record \(what) before exit; the lease will expire and the message be retried",
                                 metadata: ["message": "\(ids)", "error": "\(error)"])
                    return failed
                }
                logger.error("could not record \(what); retrying", metadata: ["message": "\(ids)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    // MARK: Leases

    private func renewLoop() async {
        let every = settings.lease / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let ids = Array(inFlight)
            guard !ids.isEmpty else { continue }
            do {
                let kept = try await withDatabase { try await $0.renew(ids, lease: self.settings.lease) }
                for id in ids where !kept.contains(id) && inFlight.contains(id) {
                    logger.warning("lease lost while delivering (another worker took the message over)", metadata: ["message": "\(id)"])
                }
            } catch {
                logger.warning("could not renew leases", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Notifications

    private func listenLoop() async {
        var delay = Duration.milliseconds(250)
        var down = false
        while !stopRequested && !Task.isCancelled {
            do {
                if down {
                    try await connectListener()
                    down = false
                    delay = .milliseconds(250)
                    logger.notice("notification connection restored")
                    wake.signal()
                }
                let notes = try await listener.waitForNotifications(timeout: .seconds(30))
                if notes.contains(where: { $0.channel == "herald_template" || $0.channel == "herald_location" }) { templatesDirty = true }
                if !notes.isEmpty { dueMayHaveChanged(); wake.signal() }
            } catch {
                if stopRequested { return }
                if !down {
                    logger.warning("notification connection lost; polling until it is back", metadata: ["error": "\(error)"])
                    down = true
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    // MARK: Shutdown

    private func drain() async {
        if !ready.isEmpty {
            // Claimed but never started: back to pending at once, uncounted.
            let ids = ready.map(\.id)
            ready = []
            let count = (try? await withDatabase(giveUpAfter: .seconds(5)) { try await $0.release(ids) }) ?? 0
            for id in ids { inFlight.remove(id) }
            logger.notice("stopping: returned claimed messages not yet started to pending", metadata: ["released": "\(count)"])
        }
        notifier.stopping(status: "stopping: \(inFlight.count) deliveries in flight")
        if !inFlight.isEmpty {
            logger.notice("stopping: waiting for deliveries in flight", metadata: [
                "in_flight": "\(inFlight.count)", "grace": "\(DurationText.format(settings.shutdownGrace))",
            ])
        }
        let deadline = ContinuousClock.now + settings.shutdownGrace
        while !inFlight.isEmpty && ContinuousClock.now < deadline {
            await wake.wait(timeout: min(deadline - ContinuousClock.now, .seconds(1)))
        }
        if !inFlight.isEmpty {
            let ids = Array(inFlight)
            released.formUnion(ids)
            let count = (try? await withDatabase(giveUpAfter: .seconds(5)) { try await $0.release(ids) }) ?? 0
            logger.warning("grace period over; returned unfinished claims to pending without counting the attempt", metadata: [
                "released": "\(count)", "in_flight": "\(ids.count)",
            ])
        }
        stop.withLock { $0.hard = true }
    }

    // MARK: Connection supervision

    /// The worker's two database connections.
    enum Link {
        /// Claims, leases, scheduling decisions, maintenance.
        case main
        /// Outcomes (``flushCompletions()``).
        case recorder
    }

    private func connection(_ link: Link) -> PostgresConnection { link == .main ? main : recorder }

    /// Runs `operation` on a connection (the main one by default); on connection loss,
    /// reconnects with backoff (logging the outage once) and runs it again.
    func withDatabase<T: Sendable>(on link: Link = .main, giveUpAfter: Duration? = nil,
                                   _ operation: @Sendable (OutboxStore) async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        let target = link == .main ? store : recorderStore
        while true {
            do {
                if !(await connection(link).isConnected) { try await reconnect(link) }
                return try await operation(target)
            } catch let error as PostgresError where error.isConnectionLoss {
                if hardStop { throw error }
                if let limit = giveUpAfter, ContinuousClock.now - start > limit { throw error }
                noteOutage(error)
                try await reconnect(link)
            }
        }
    }

    private func noteOutage(_ error: PostgresError) {
        guard outageSince == nil else { return }
        outageSince = .now
        logger.error("database connection lost; reconnecting with backoff", metadata: ["error": "\(error)"])
        notifier.status("database unreachable; reconnecting")
    }

    private func reconnect(_ link: Link) async throws {
        if let running = reconnecting[link] { return try await running.value }
        let task = Task { try await self.reconnectLoop(link) }
        reconnecting[link] = task
        defer { reconnecting[link] = nil }
        try await task.value
    }

    private func reconnectLoop(_ link: Link) async throws {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await connection(link).connect()
                if let since = outageSince {
                    logger.notice("database connection restored", metadata: ["outage_s": "\(String(format: "%.1f", (ContinuousClock.now - since).seconds))"])
                    outageSince = nil
                }
                return
            } catch let error as PostgresError {
                if hardStop || (stopRequested && inFlight.isEmpty) { throw error }
                if outageSince == nil {
                    outageSince = .now
                    logger.error("cannot connect to the database; retrying with backoff", metadata: ["error": "\(error)"])
                }
                pingWatchdog()
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

extension Completion.Result {
    /// The message status this result leads to.
    var statusName: String {
        switch self {
        case .sent: return "sent"
        case .retry: return "pending"
        case .failed: return "failed"
        }
    }
}
