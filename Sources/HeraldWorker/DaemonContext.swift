import Foundation
import HeraldCore
import HeraldOutbox
import HeraldSystemd
import Logging
import Synchronization

/// What the daemon's services share, and nothing more: the settings, the stop request,
/// the claims in flight, and the hints that wake the claim loop.
///
/// Every member is either immutable or guarded by its own lock, so each service reads and
/// writes it synchronously, without a hop to another actor.
public final class DaemonContext: Sendable {
    public let settings: WorkerSettings
    let logger: Logger
    /// Counters and latency histograms (`/metrics`).
    public let metrics: DaemonMetrics
    let notifier: SystemdNotifier
    /// Wakes the claim loop: a NOTIFY arrived, a delivery or an outcome finished, or shutdown began.
    let wake = WakeSignal()
    /// Wakes the inbound processor (`NOTIFY herald_inbound`).
    let inboundWake = WakeSignal()
    /// `NOTIFY herald_event`: the host recorded an event.
    let eventWake = WakeSignal()
    /// Every claim not yet recorded, with its lease.
    public let ledger = ClaimLedger()
    /// What may have changed since the claim loop last looked.
    let hints = Mutex(Hints())
    /// Done when startup is (schema checked, worker id locked, own leases recovered):
    /// lease recovery, maintenance, replies and events wait for it.
    let startup = StartupLatch()
    /// True while the claim loop would claim again as soon as a slot or the outcome queue
    /// frees up (its last claim was full, or it held back). False after a claim that found
    /// less than a batch: nothing more is due, so a finished delivery or a written outcome
    /// need not wake it for an empty claim (one statement per message on an idle daemon,
    /// in the way of the next NOTIFY's claim).
    let claimWantsCapacity = Atomic<Bool>(true)
    /// Since when the database is unreachable (nil: it answers), shared by the connections.
    let outageSince = Mutex<ContinuousClock.Instant?>(nil)
    /// When the last outage began.
    let lastOutageBegan = Mutex<ContinuousClock.Instant?>(nil)
    private let stop = Mutex(StopState())
    private let lastWatchdog = Mutex(ContinuousClock.now)

    struct Hints {
        /// Templates or locations changed (NOTIFY): reload before the next claim.
        var templatesDirty = true
        /// A message may have become due earlier than the claim loop believes.
        var dueChanged = true
    }

    private struct StopState {
        var requested = false
        /// Past the grace period: give up on the database and exit.
        var hard = false
        /// When the grace period ends (set by the first stop request).
        var graceDeadline: ContinuousClock.Instant?
    }

    public init(settings: WorkerSettings, logger: Logger, notifier: SystemdNotifier = SystemdNotifier(),
                metrics: DaemonMetrics = DaemonMetrics()) {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.notifier = notifier
    }

    // MARK: Stop

    /// Begins a graceful stop of the claim loop (what SIGTERM does through the service
    /// group, and what `--exit-when-idle` does itself). Safe from any context.
    public func requestStop() {
        let grace = settings.shutdownGrace
        stop.withLock {
            $0.requested = true
            if $0.graceDeadline == nil { $0.graceDeadline = .now + grace }
        }
        wake.signal()
    }

    /// Past the grace period: statements give up instead of waiting for the database.
    func giveUp() { stop.withLock { $0.hard = true } }

    /// Logs a service's failed round (`what`: "could not expand events") that it will try
    /// again. Past the grace period the failure is the shutdown cutting the connections off:
    /// said once as such, at notice level, not as an error to be retried.
    func noteFailedRound(_ what: String, _ error: any Error) {
        if hardStop {
            logger.notice("stopping: \(what) before exit; taken up again at the next start", metadata: ["error": "\(error)"])
        } else {
            logger.error("\(what); retrying", metadata: ["error": "\(error)"])
        }
    }

    var stopRequested: Bool { stop.withLock { $0.requested } }
    var hardStop: Bool { stop.withLock { $0.hard } }
    /// When a requested stop's grace period ends; nil while running.
    var graceDeadline: ContinuousClock.Instant? { stop.withLock { $0.graceDeadline } }

    /// True when a stop was requested and waiting for the database no longer helps:
    /// nothing is in flight, or the grace period is over.
    var givingUp: Bool {
        if hardStop { return true }
        guard stopRequested else { return false }
        return ledger.isEmpty || (graceDeadline.map { ContinuousClock.now >= $0 } ?? false)
    }

    /// Waits until startup is done; false if the service is shut down or cancelled first.
    func waitForStartup() async -> Bool { await startup.wait() }

    /// Marks the database reachable again; returns since when it was not (nil: it was).
    func endOutage() -> ContinuousClock.Instant? {
        outageSince.withLock { since in
            defer { since = nil }
            return since
        }
    }

    /// Whether a connection made at `instant` was made before the last outage began: a
    /// loss it reports now (an idle connection learning of a restart late) belongs to that
    /// outage, not to a new one.
    func predatesLastOutage(_ instant: ContinuousClock.Instant?) -> Bool {
        guard let instant, let began = lastOutageBegan.withLock({ $0 }) else { return false }
        return instant < began
    }

    /// Marks the database unreachable; true for the first failure of an outage (log it).
    func beginOutage() -> Bool {
        let began = outageSince.withLock { since -> Bool in
            guard since == nil else { return false }
            since = .now
            return true
        }
        if began { lastOutageBegan.withLock { $0 = .now } }
        return began
    }

    // MARK: Hints

    /// Something may have made a message due earlier than the claim loop's next due time
    /// (a NOTIFY, a retry or deferral written, a recovered lease).
    func dueMayHaveChanged() { hints.withLock { $0.dueChanged = true } }

    /// A delivery slot or room in the outcome queue came free: wakes the claim loop if it
    /// waits for that (always while stopping or exiting when idle: it waits for the last
    /// claim to finish).
    func capacityFreed() {
        if claimWantsCapacity.load(ordering: .acquiring) || settings.exitWhenIdle || stopRequested { wake.signal() }
    }

    /// A claimed message is done with (recorded, rescheduled or given back). `signal`
    /// wakes the claim loop, which may claim again; a group commit signals once per batch.
    func finished(_ claim: ClaimKey, result: Completion.Result?, signal: Bool = true) {
        ledger.finish(claim, result: result)
        if signal { wake.signal() }
    }

    /// Tells systemd's watchdog the daemon is alive (at most every half interval).
    func pingWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let now = ContinuousClock.now
        let due = lastWatchdog.withLock { last -> Bool in
            guard now - last >= interval / 2 else { return false }
            last = now
            return true
        }
        if due { notifier.watchdog() }
    }

    /// The current instant for the rules.
    var now: Date { settings.clock?() ?? Date() }
}
