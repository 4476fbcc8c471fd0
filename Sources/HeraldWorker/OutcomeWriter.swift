import HeraldCore
import HeraldOutbox
import HeraldPostgres
import HeraldSystemd
import Logging
import ServiceLifecycle
import Synchronization

/// A delivery's result, waiting to be written, with what its log line needs.
struct Outcome: Sendable {
    var completion: Completion
    let channel: String
    let recipient: String
    let startedAt: ContinuousClock.Instant
    /// Set when the provider reported an opt-out: recorded once the outcome is written.
    let optOut: String?

    var claim: ClaimKey { ClaimKey(id: completion.messageID, attempt: completion.attempt) }
}

/// The outcome writer: group-commits delivery outcomes on its own connection.
///
/// Delivery slots hand outcomes over with ``submit(_:)`` and do not wait. The first one
/// wakes the writer; those that arrive while it writes go together in the next statement
/// (one `complete` for up to ``maxBatch`` rows), retried across connection losses until
/// stored (or shutdown gives up). An idle daemon writes each at once; a busy one writes
/// many per round trip, with no timer adding latency. On graceful shutdown it writes what
/// is queued, then returns.
public final class OutcomeWriter: Service, Sendable {
    static let maxBatch = 500

    let context: DaemonContext
    let link: DatabaseLink
    /// Opt-outs reported by a provider are written here (beside scheduling decisions).
    let main: DatabaseLink
    private let queue = Mutex(Queue())
    private let signal = WakeSignal()

    private struct Queue {
        var outcomes: [Outcome] = []
        var stopping = false
    }

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        self.link = links.recorder
        self.main = links.main
    }

    /// Outcomes waiting to be written.
    public var queued: Int { queue.withLock { $0.outcomes.count } }

    /// Queues an outcome for writing (one whose claim was given back at shutdown is dropped).
    func submit(_ outcome: Outcome) {
        if context.ledger.isReleased(outcome.claim) {
            context.finished(outcome.claim, result: nil)  // returned to pending at shutdown: nothing to record
            return
        }
        queue.withLock { $0.outcomes.append(outcome) }
        signal.signal()
    }

    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while true {
                    await flush()
                    if queue.withLock({ $0.stopping && $0.outcomes.isEmpty }) { return }
                    await signal.wait()
                }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            // The group is failing (another service threw): no more waiting for the database.
            self.context.giveUp()
            self.stop()
        }
    }

    private func stop() {
        queue.withLock { $0.stopping = true }
        signal.signal()
    }

    private func flush() async {
        while true {
            let batch = queue.withLock { q -> [Outcome] in
                let batch = Array(q.outcomes.prefix(Self.maxBatch))
                q.outcomes.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            let kept = await record(batch.map(\.completion))
            LogLines.together {  // a batch's delivery lines in one write
                for outcome in batch { settle(outcome, recorded: kept.contains(outcome.completion.messageID)) }
            }
            if batch.contains(where: { $0.completion.result == .retry }) {
                context.wake.signal()  // a retry's due time: the claim loop looks again
            } else {
                context.capacityFreed()
            }
        }
    }

    /// Writes outcomes; returns the ids recorded. A statement error (not a lost connection)
    /// would fail the same way on every retry and hold up every later outcome: the batch is
    /// halved until the outcome that cannot be stored is alone, the others are written, and
    /// that one is recorded without its outside text (provider id, response, rendered
    /// content) and with the reason; a sent message stays sent, any other becomes failed.
    func record(_ completions: [Completion]) async -> Set<Int64> {
        guard !completions.isEmpty else { return [] }
        switch await write(completions) {
        case .success(let kept):
            return kept
        case .failure(let error) where completions.count > 1:
            let half = completions.count / 2
            context.logger.debug("outcome batch failed; splitting it", metadata: ["count": "\(completions.count)", "error": "\(error)"])
            let first = await record(Array(completions[..<half]))
            return first.union(await record(Array(completions[half...])))
        case .failure(let error):
            let original = completions[0]
            context.logger.error("outcome cannot be stored as it is; recording it without the provider's text", metadata: [
                "message": "\(original.messageID)", "attempt": "\(original.attempt)", "error": "\(error)",
            ])
            var fallback = Completion(messageID: original.messageID, attempt: original.attempt,
                                      result: original.result == .sent ? .sent : .failed, driver: original.driver,
                                      startedAt: original.startedAt, finishedAt: original.finishedAt)
            // The server's message and code only: its DETAIL may quote the row, the very text that failed.
            let why = error.message + (error.sqlState.map { " (SQLSTATE \($0))" } ?? "")
            fallback.error = SafeText.clean("the outcome of attempt \(original.attempt) (\(original.result.rawValue)) could not be stored: \(why)")
            switch await write([fallback]) {
            case .success(let kept): return kept
            case .failure(let again):
                context.logger.error("outcome cannot be stored; the lease will expire and the message be retried",
                                     metadata: ["message": "\(original.messageID)", "error": "\(again)"])
                return []
            }
        }
    }

    /// One `complete` statement, run again after a lost connection (as a replay: the first
    /// try's commit may have happened) or a transient error, until it is stored or shutdown
    /// gives up. A statement error that will not go away is returned.
    private func write(_ completions: [Completion]) async -> Result<Set<Int64>, PostgresError> {
        var replay = false
        let what = completions.count == 1 ? String(completions[0].messageID) : "\(completions.count) messages"
        while true {
            do {
                let again = replay
                let start = ContinuousClock.now
                let kept = try await link.withDatabase(retryOnLoss: false) { try await $0.messages.complete(completions, replay: again) }
                context.metrics.observe(.record, since: start)
                return .success(kept)
            } catch let error as PostgresError where !error.isTransient {
                return .failure(error)
            } catch {
                if error is PostgresError { replay = true }
                if context.hardStop {
                    context.logger.error("could not record the outcome before exit; the lease will expire and the message be retried",
                                         metadata: ["message": "\(what)", "error": "\(error)"])
                    return .success([])
                }
                if (error as? PostgresError)?.isConnectionLoss == true {
                    // Reconnected (with backoff) already, or giving up at shutdown: a short pause,
                    // so that a failing reconnect is never retried in a tight loop.
                    try? await Task.sleep(for: .milliseconds(100))
                } else {
                    context.logger.warning("could not record the outcome; retrying", metadata: ["message": "\(what)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// After an outcome is written (or found taken over): the opt-out it reported, its log
    /// line, and the bookkeeping.
    private func settle(_ outcome: Outcome, recorded: Bool) {
        let completion = outcome.completion
        let id = completion.messageID
        let millis = Int(clampingRounded: (ContinuousClock.now - outcome.startedAt).seconds * 1000)
        var metadata: Logger.Metadata = [
            "message": "\(id)", "channel": "\(outcome.channel)", "status": "\(recorded ? completion.result.status.rawValue : "discarded")",
            "attempt": "\(completion.attempt)", "duration_ms": "\(millis)", "driver": "\(completion.driver)",
        ]
        if let error = completion.error { metadata["error"] = "\(error)" }
        if let retryIn = completion.retryIn { metadata["retry_in"] = "\(DurationText.format(retryIn))" }
        if let providerID = completion.providerMessageID { metadata["provider_id"] = "\(providerID)" }
        let logger = context.logger
        if !recorded {
            logger.warning("delivery finished after the lease was taken over; result discarded", metadata: metadata)
        } else {
            switch completion.result {
            case .sent: logger.info("delivered", metadata: metadata)
            case .retry: logger.warning("delivery failed; will retry", metadata: metadata)
            case .failed: logger.error("delivery failed", metadata: metadata)
            }
        }
        if recorded { context.metrics.delivery(channel: outcome.channel, outcome: completion.result.rawValue) }
        if recorded && completion.result == .retry { context.dueMayHaveChanged() }
        let claim = outcome.claim
        if recorded, let reason = outcome.optOut {
            context.metrics.optOut(channel: outcome.channel, source: "provider")
            // Kept in flight until the opt-out is stored, so shutdown waits for it.
            let (channel, recipient, main, context) = (outcome.channel, outcome.recipient, self.main, self.context)
            Task {
                _ = await main.persist(String(id), what: "opt-out", failed: false) {
                    try await $0.messages.recordOptOut(channel: channel, recipient: recipient, reason: reason)
                    return true
                }
                context.finished(claim, result: completion.result)
            }
            return
        }
        context.finished(claim, result: recorded ? completion.result : nil, signal: false)
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
