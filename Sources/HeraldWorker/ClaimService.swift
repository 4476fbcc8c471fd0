import Foundation
import HeraldCore
import HeraldDrivers
import HeraldOutbox
import HeraldPipeline
import HeraldRender
import Logging
import ServiceLifecycle

/// Claiming and dispatch: startup, then the claim loop and the delivery slots.
///
/// - Claims batches with one `FOR UPDATE SKIP LOCKED` statement, only for channels that
///   have a driver, and records the leases in the ``ClaimLedger`` (renewed by ``LeaseService``).
/// - Runs up to `concurrency` deliveries at once; each hands its outcome to the
///   ``OutcomeWriter`` without waiting and takes the next claimed message.
/// - Wakes on a signal (NOTIFY, a finished batch of outcomes), at the earliest due time,
///   and at least every poll interval.
/// - On graceful shutdown it stops claiming, returns claims never started, lets deliveries
///   in flight finish within the grace period, and returns the rest uncounted.
public actor ClaimService: Service {
    let context: DaemonContext
    let links: DatabaseLinks
    let writer: OutcomeWriter
    let dispatcher: Dispatcher
    /// Copied once: read on every claim and every slot hand-over.
    let settings: WorkerSettings
    let logger: Logger
    let channelNames: [String]
    /// The channels' rate limits, as the claim statement takes them.
    let claimLimits: ClaimLimits

    /// The rules and templates as loaded now (``Pipeline/load(_:settings:now:)``).
    private var pipeline: Pipeline
    /// The last load's templates not rendered natively: a reload counts and logs only
    /// what changed (a reload on reconnect or after another template's edit says nothing new).
    private var reportedChecks: Set<NativeCheck> = []
    /// Claimed messages not started yet, last to start at the front (a claim runs ahead
    /// of free delivery slots, so batch size and concurrency are independent).
    var ready: [OutboxMessage] = []
    /// When the claim that filled `ready` was sent: its look at consent is that old.
    var readyCheckedAt = ContinuousClock.now
    /// Claims whose lease may have lapsed before they started: returned uncounted once the
    /// database answers.
    var lapsed: [ClaimKey] = []
    /// Deliveries running (each holds one of `concurrency` slots until its driver returns;
    /// writing the outcome does not hold a slot).
    var delivering = 0
    /// When the next pending message falls due, as last asked of the database; asked
    /// again only when something may have changed it (a NOTIFY, a retry or deferral
    /// written, a recovered lease, or a poll interval without news).
    private var nextDue: ContinuousClock.Instant?
    private var nextDueUnknown = true
    /// When a slow claim's replan was last logged, and how many since: one line a minute.
    private var replanLog: (at: ContinuousClock.Instant, since: Int)?

    public init(context: DaemonContext, links: DatabaseLinks, writer: OutcomeWriter, gate: SendGate, drivers: [Channel: any Driver]) {
        self.context = context
        self.settings = context.settings
        self.logger = context.logger
        self.links = links
        self.writer = writer
        self.dispatcher = Dispatcher(drivers: drivers, context: context, main: links.main, gate: gate)
        self.channelNames = drivers.keys.map(\.rawValue).sorted()
        self.claimLimits = ClaimLimits(context.settings.senderLimits)
        // Replaced at startup (reloadTemplates): no catalog check for this placeholder.
        let settings = context.settings.pipeline
        self.pipeline = Pipeline(catalog: TemplateCatalog(records: [], defaultLocale: settings.defaultLocale),
                                 planner: SchedulePlanner(policy: settings.scheduling, records: []), smsMaxSegments: settings.smsMaxSegments)
    }

    var main: DatabaseLink { links.main }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.runUntilStopped()
        } onGracefulShutdown: {
            self.context.requestStop()
            self.armStopCutoff()
        }
    }

    private func runUntilStopped() async throws {
        guard !channelNames.isEmpty else { throw Worker.WorkerError.noChannels }
        do {
            try await startup()
        } catch where context.stopRequested {
            logger.notice("stopped before startup completed", metadata: ["error": "\(error)"])
            return
        }
        await withDiscardingTaskGroup { group in
            await self.claimLoop(group: &group)
            let unanswered = await self.drain()
            if unanswered || main.inOutage {
                // Past the grace period with the database unreachable or silent: a statement
                // still blocked in libpq is cut off so that the process can exit.
                links.abort()
            }
            group.cancelAll()
        }
        let counters = context.ledger.counters
        logger.notice("herald stopped", metadata: ["sent": "\(counters.sent)", "retried": "\(counters.retried)", "failed": "\(counters.failed)"])
    }

    // MARK: Startup

    private func startup() async throws {
        try await main.withDatabase { _ in }
        try await Migrator(connection: main.connection).verifyCurrent()
        // One daemon per worker id: it takes back its own leases below, which is only safe
        // when no other daemon with the same id is running.
        guard try await main.lockWorkerID() else { throw Worker.WorkerError.duplicateWorkerID(settings.workerID) }
        let maxAttempts = settings.maxAttempts
        let own = try await main.withDatabase { try await $0.messages.recoverExpiredLeases(defaultMaxAttempts: maxAttempts, limit: 10_000, includeOwn: true) }
        if !own.isEmpty {
            logger.warning("recovered messages left by a previous run of this worker", metadata: ["count": "\(own.count)"])
        }
        let names = channelNames
        let waiting = try await main.withDatabase { try await $0.messages.waitingCounts(excluding: names) }
        for (channel, count) in waiting.sorted(by: { $0.key < $1.key }) {
            logger.warning("channel has no driver configured; its messages wait", metadata: ["channel": "\(channel)", "waiting": "\(count)"])
        }
        try await reloadTemplates()
        context.startup.finish()
        logger.notice("herald ready", metadata: [
            "worker": "\(settings.workerID)", "channels": "\(names.joined(separator: ","))",
            "concurrency": "\(settings.concurrency)", "batch": "\(settings.batchSize)",
        ])
        context.notifier.ready(status: "ready: worker \(settings.workerID), channels \(names.joined(separator: ","))")
    }

    private func reloadTemplates() async throws {
        context.hints.withLock { $0.templatesDirty = false }
        let rows = try await main.withDatabase { try await PipelineRows.read(from: $0) }
        let loaded = Pipeline.load(rows, settings: settings.pipeline, now: context.now)
        pipeline = loaded.pipeline
        for problem in loaded.templateProblems {
            logger.error("template cannot be used; its messages will fail", metadata: ["error": "\(problem)"])
        }
        for (id, reason) in loaded.invalidLocations.sorted(by: { $0.key < $1.key }) {
            logger.error("location cannot be used; its messages will fail", metadata: ["location": "\(id)", "error": "\(reason)"])
        }
        for check in loaded.renderChecks where check.outcome != .native && !reportedChecks.contains(check) {
            context.metrics.renderFallback(reason: check.outcome.rawValue)
            if check.outcome == .mismatch {
                logger.warning("Herald's renderer disagrees with swift-mustache on this template's sample data; swift-mustache renders it",
                               metadata: ["template": "\(check.template)", "detail": "\(check.detail ?? "")"])
            }
        }
        reportedChecks = Set(loaded.renderChecks.filter { $0.outcome != .native })
        logger.debug("templates and locations loaded", metadata: ["templates": "\(pipeline.catalog.count)", "locations": "\(rows.locations.count)"])
    }

    // MARK: Claim loop

    /// Logs a claim slow enough to be planned again, at most once a minute (with how many
    /// more were since): the usual cause is a bulk load the outbox's statistics do not know.
    private func noteReplan(_ took: Duration) {
        let now = ContinuousClock.now
        if let last = replanLog, now - last.at < .seconds(60) {
            replanLog = (last.at, last.since + 1)
            return
        }
        logger.notice("a claim was slow; its plan is made again for the next claim (after a bulk load, ANALYZE herald.message)",
                      metadata: ["took": "\(DurationText.format(took))", "more_since_last_notice": "\(replanLog?.since ?? 0)"])
        replanLog = (now, 0)
    }

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        var nextStatus = ContinuousClock.now + .seconds(10)
        while !context.stopRequested {
            context.pingWatchdog()
            // Set before the loop reads the slots and the ledger, so that capacity freed
            // while it decides still wakes it (cleared below after a partial claim).
            context.claimWantsCapacity.store(true, ordering: .releasing)
            do {
                if context.hints.withLock({ $0.templatesDirty }) { try await reloadTemplates() }
                if ContinuousClock.now >= nextStatus {
                    nextStatus = ContinuousClock.now + .seconds(10)
                    let c = context.ledger.counters
                    context.notifier.status("in flight \(context.ledger.count); sent \(c.sent), retried \(c.retried), failed \(c.failed)")
                }
                if !lapsed.isEmpty { try await releaseLapsed() }
                startReady(group: &group)
                var claimedPartly = false
                // Claim when every claimed message has started, a slot is free, and the
                // outcomes still being written are few enough (the next claim overlaps
                // writing the last batch's outcomes, without running far ahead of it).
                if ready.isEmpty && delivering < settings.concurrency && context.ledger.count - delivering < unrecordedLimit {
                    let (limit, lease, names, at, limits) = (settings.batchSize, settings.lease, channelNames, settings.clock?(), claimLimits)
                    let sentAt = ContinuousClock.now
                    let batch = try await main.withDatabase {
                        try await $0.messages.claimBatch(channels: names, limit: limit, lease: lease, limits: limits, now: at)
                    }
                    let messages = batch.messages
                    context.metrics.observe(.claim, since: sentAt)
                    if let took = batch.replannedAfter { noteReplan(took) }
                    context.ledger.hold(messages.map(\.claimKey), sentAt: sentAt, lease: lease)
                    ready = messages.reversed()
                    readyCheckedAt = sentAt
                    startReady(group: &group)
                    // A claim short of the batch may still leave messages due now when a
                    // queue gave only its fair share; otherwise nothing more is claimable
                    // until the next due time or the next sender's token.
                    claimedPartly = !batch.mayHaveMore
                    if claimedPartly { context.claimWantsCapacity.store(false, ordering: .releasing) }
                    if messages.isEmpty && context.ledger.isEmpty && settings.exitWhenIdle, try await !hasUnfinishedWork() {
                        logger.notice("outbox drained; exiting (--exit-when-idle)")
                        context.requestStop()
                        break
                    }
                    if !claimedPartly && delivering < settings.concurrency { continue }  // a full batch: more may be due
                }
                var timeout = settings.pollInterval
                if context.hints.withLock({ h -> Bool in defer { h.dueChanged = false }; return h.dueChanged }) {
                    nextDue = nil
                    nextDueUnknown = true
                }
                if claimedPartly && nextDueUnknown {
                    // Nothing claimable now: sleep until the next due time or the next sender's
                    // token (asked only when unknown).
                    nextDueUnknown = false
                    let names = channelNames
                    nextDue = try await main.withDatabase { try await $0.messages.secondsUntilNextDue(channels: names) }
                        .map { ContinuousClock.now + Duration.clamped(seconds: max(0.02, $0)) }
                }
                if let due = nextDue {
                    let wait = due - ContinuousClock.now
                    if wait <= .zero { nextDue = nil; nextDueUnknown = true; continue }
                    timeout = min(timeout, wait)
                }
                if let watchdog = context.notifier.watchdogInterval { timeout = min(timeout, watchdog) }
                if settings.exitWhenIdle { timeout = min(timeout, .milliseconds(500)) }
                if await !context.wake.wait(timeout: timeout) { context.dueMayHaveChanged() }  // a quiet interval: look again
            } catch {
                if context.stopRequested { break }
                logger.error("worker loop error; retrying", metadata: ["error": "\(error)"])
                await context.wake.wait(timeout: .seconds(1))
            }
        }
    }

    private func hasUnfinishedWork() async throws -> Bool {
        let (names, horizon, at) = (channelNames, settings.idleHorizon, settings.clock?())
        return try await main.withDatabase { try await $0.messages.hasUnfinishedWork(channels: names, horizon: horizon, now: at) }
    }

    /// Most outcomes waiting to be written before claiming pauses: two batches and a
    /// round of deliveries. Bounds what a crash can leave `sending` (and send twice).
    private var unrecordedLimit: Int { 2 * settings.batchSize + settings.concurrency }

    /// Starts claimed messages while delivery slots are free.
    private func startReady(group: inout DiscardingTaskGroup) {
        guard !ready.isEmpty else { return }
        let pipeline = self.pipeline
        while delivering < settings.concurrency, let message = nextStartable() {
            delivering += 1
            let checkedAt = readyCheckedAt
            group.addTask { await self.runSlot(Work(message: message, pipeline: pipeline, checkedAt: checkedAt)) }
        }
    }

    /// The next claimed message whose lease is sure to last a while (half a lease); those
    /// whose lease may have lapsed (renewals failed: the database is unreachable) are set
    /// aside to be returned uncounted, never started: another worker may own them by now.
    private func nextStartable() -> OutboxMessage? {
        let now = ContinuousClock.now
        while let message = ready.popLast() {
            if context.ledger.mayStart(message.claimKey, now: now, margin: settings.lease / 2) { return message }
            lapsed.append(message.claimKey)
        }
        return nil
    }

    /// One delivery slot: delivers claimed messages one after another while some are
    /// ready, handing each outcome to the writer without waiting for it to be written
    /// (one hop to this actor per message, no wake-up of the claim loop).
    private nonisolated func runSlot(_ first: Work) async {
        var work: Work? = first
        while let current = work {
            if let outcome = await dispatcher.deliver(current) { writer.submit(outcome) }
            work = await next()
        }
    }

    /// The slot's next message, or nil (the slot is freed).
    private func next() -> Work? {
        if !context.stopRequested, let message = nextStartable() {
            return Work(message: message, pipeline: pipeline, checkedAt: readyCheckedAt)
        }
        delivering -= 1
        context.capacityFreed()
        return nil
    }
}
