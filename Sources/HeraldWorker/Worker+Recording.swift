import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Logging

/// Writing outcomes: group commit, isolation of an outcome that cannot be stored, and the
/// log line and bookkeeping once written.
extension Worker {
    /// Outcomes are group-committed: the first one starts a flush; those that arrive while
    /// it runs go together in the next one (one `complete` statement for up to
    /// ``maxCompletionBatch`` rows), on the recorder connection, retrying across
    /// connection losses until stored (or shutdown gives up). An idle worker writes each
    /// at once; a busy one writes many per round trip, with no timer adding latency.
    static let maxCompletionBatch = 500

    func flushCompletions() async {
        while !pendingCompletions.isEmpty {
            let batch = Array(pendingCompletions.prefix(Self.maxCompletionBatch))
            pendingCompletions.removeFirst(batch.count)
            let kept = await record(batch.map(\.completion))
            for outcome in batch { settle(outcome, recorded: kept.contains(outcome.completion.messageID)) }
            wake.signal()
        }
        flushingCompletions = false
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
            logger.debug("outcome batch failed; splitting it", metadata: ["count": "\(completions.count)", "error": "\(error)"])
            let first = await record(Array(completions[..<half]))
            return first.union(await record(Array(completions[half...])))
        case .failure(let error):
            let original = completions[0]
            logger.error("outcome cannot be stored as it is; recording it without the provider's text", metadata: [
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
                logger.error("outcome cannot be stored; the lease will expire and the message be retried",
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
                return .success(try await withDatabase(on: .recorder, retryOnLoss: false) {
                    try await $0.complete(completions, replay: again)
                })
            } catch let error as PostgresError where !error.isTransient {
                return .failure(error)
            } catch {
                if error is PostgresError { replay = true }
                if hardStop {
                    logger.error("could not record the outcome before exit; the lease will expire and the message be retried",
                                 metadata: ["message": "\(what)", "error": "\(error)"])
                    return .success([])
                }
                if (error as? PostgresError)?.isConnectionLoss == true {
                    // Reconnected (with backoff) already, or giving up at shutdown: a short pause,
                    // so that a failing reconnect is never retried in a tight loop.
                    try? await Task.sleep(for: .milliseconds(100))
                } else {
                    logger.warning("could not record the outcome; retrying", metadata: ["message": "\(what)", "error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// After an outcome is written (or found taken over): the opt-out it reported, its log
    /// line, and the bookkeeping.
    func settle(_ outcome: Outcome, recorded: Bool) {
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
        let claim = outcome.claim
        if recorded, let reason = outcome.optOut {
            // Kept in flight until the opt-out is stored, so shutdown waits for it.
            let (channel, recipient) = (outcome.channel, outcome.recipient)
            Task {
                _ = await self.persist(String(id), what: "opt-out", failed: false) {
                    try await $0.recordOptOut(channel: channel, recipient: recipient, reason: reason)
                    return true
                }
                self.finished(claim, result: completion.result)
            }
            return
        }
        finished(claim, result: recorded ? completion.result : nil, signal: false)
    }

    /// Runs a write (a scheduling decision, an opt-out), across lost connections and
    /// transient errors until it is stored. It gives up, logging why, on a statement error
    /// that would fail every time, and past the shutdown grace: the lease then expires and
    /// the message is taken over. `failed` is what to return then.
    func persist<T: Sendable>(_ ids: String, what: String, failed: T, on link: Link = .main,
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
}
