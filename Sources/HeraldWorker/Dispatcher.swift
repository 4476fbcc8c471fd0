import Foundation
import HeraldCore
import HeraldDrivers
import HeraldInbound
import HeraldOutbox
import HeraldPipeline
import HeraldRender
import HeraldScheduling
import Logging
import Synchronization

/// A claimed message with the templates and rules current when it started.
struct Work: Sendable {
    let message: OutboxMessage
    let pipeline: Pipeline
    /// When the claim statement that looked at its recipient's consent was sent.
    let checkedAt: ContinuousClock.Instant
}

/// One claimed message through the pipeline's decision and the driver: returns the outcome
/// to record, or writes the deferral or expiry itself (neither is an attempt).
struct Dispatcher: Sendable {
    let drivers: [Channel: any Driver]
    let context: DaemonContext
    /// Where deferrals and expiries are written.
    let main: DatabaseLink
    /// The last look before the driver (opt-out, contact, lease).
    let gate: SendGate

    /// Returns the outcome to record, or nil when there is none (deferred, expired, or
    /// released at shutdown).
    func deliver(_ work: Work) async -> Outcome? {
        let message = work.message
        let startedAt = Date()
        let clock = ContinuousClock.now
        let driverName = Channel(rawValue: message.channel).flatMap { drivers[$0]?.name } ?? "-"
        var rendered: RenderedMessage?
        let result: Result<DeliveryReceipt, DeliveryError>
        switch await attempt(message, pipeline: work.pipeline, checkedAt: work.checkedAt) {
        case .handled:
            return nil
        case .failed(let error, let r):
            rendered = r
            result = .failure(error)
        case .delivered(let r, let outcome):
            rendered = r
            result = outcome
        }

        var completion = Completion(messageID: message.id, attempt: message.attempt, result: .sent, driver: driverName,
                                    startedAt: startedAt, finishedAt: Date(), rendered: rendered)
        var optOut: String?
        switch result {
        case .success(let receipt):
            completion.providerMessageID = receipt.providerMessageID.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
            completion.responseCode = receipt.responseCode.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
        case .failure(let error):
            // Provider text is capped and freed of NULs before it is logged or stored.
            completion.responseCode = error.code.map { SafeText.clean($0, limit: SafeText.identifierLimit) }
            if case .optedOut = error { optOut = SafeText.clean(error.reason) }
            if case .transient(_, let code, let retryAfter) = error, code == "429" { await pauseSender(message, retryAfter: retryAfter) }
            switch context.settings.retryPolicy.next(after: error, attempt: message.attempt, rowMaximum: message.maxAttempts) {
            case .retry(let delay, let reason):
                completion.result = .retry
                completion.error = reason
                completion.retryIn = delay
            case .fail(let reason):
                completion.result = .failed
                completion.error = reason
            }
        }
        return Outcome(completion: completion, channel: message.channel, recipient: message.recipient, startedAt: clock, optOut: optOut)
    }

    /// A provider's 429 ("too many requests") for one sender holds back that sender only:
    /// for its `Retry-After`, else a second (at most an hour).
    private func pauseSender(_ message: OutboxMessage, retryAfter: Duration?) async {
        let pause = min(max(retryAfter ?? .seconds(1), .seconds(1)), .seconds(3600))
        _ = await main.persist(String(message.id), what: "a sender pause", failed: false) {
            try await $0.messages.pauseSender(ofMessage: message.id, for: pause, reason: "the provider answered 429 (too many requests)")
            return true
        }
        context.logger.warning("the provider is throttling this sender; holding it back", metadata: [
            "message": "\(message.id)", "channel": "\(message.channel)", "sender": "\(message.sender ?? "(the channel's)")",
            "seconds": "\(pause.seconds)",
        ])
        context.dueMayHaveChanged()
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

    /// The pipeline's decision, then the driver.
    func attempt(_ message: OutboxMessage, pipeline: Pipeline, checkedAt: ContinuousClock.Instant) async -> Step {
        if let channel = Channel(rawValue: message.channel), drivers[channel] == nil {
            return .failed(.permanent("no driver configured for channel \(channel.rawValue)"))
        }
        let rendered: RenderedMessage
        let renderStart = ContinuousClock.now
        let decision = pipeline.decide(message, at: context.now)
        context.metrics.observe(.render, since: renderStart)
        switch decision {
        case .failed(let failure):
            return .failed(.permanent(failure.reason), failure.rendered)
        case .deferred(let until, let reasons, let explanation):
            await reschedule(message, explanation: explanation) {
                try await $0.messages.deferMessage(message.claimKey, until: until, reason: "deferred: \(reasons.joined(separator: "; "))")
            }
            return .handled
        case .expired(let reason, let explanation):
            await reschedule(message, explanation: explanation) { try await $0.messages.expireMessage(message.claimKey, reason: "expired: \(reason)") }
            return .handled
        case .send(let r, _):
            rendered = r
        }
        guard let driver = drivers[rendered.channel] else {
            return .failed(.permanent("no driver configured for channel \(rendered.channel.rawValue)"))
        }
        // The last look: taken by the driver once it no longer waits (rate limit, a free
        // connection), or here just before the call.
        let stopped = Mutex<Step?>(nil)
        let look = LastLook {
            // The claim's own look counts while it is fresh (a drain starts most of a batch
            // within milliseconds of claiming it); past that, the gate looks again.
            if ContinuousClock.now - checkedAt >= SendGate.freshFor, let step = await self.lastLook(message) {
                stopped.withLock { $0 = step }
                throw NotSent()
            }
        }
        let deliverStart = ContinuousClock.now
        defer { context.metrics.observe(.deliver, since: deliverStart, channel: rendered.channel.rawValue) }
        let toSend = rendered
        do {
            let receipt: DeliveryReceipt
            if driver.waitsBeforeSending {
                receipt = try await LastLook.$current.withValue(look) { try await driver.deliver(toSend) }
            } else {
                try await look.take()
                receipt = try await driver.deliver(toSend)
            }
            return .delivered(rendered, .success(receipt))
        } catch is NotSent {
            return stopped.withLock { $0 } ?? .handled
        } catch let error as DeliveryError {
            return .delivered(rendered, .failure(error))
        } catch {
            if context.ledger.isReleased(message.claimKey) { return .handled }
            return .delivered(rendered, .failure(.transient(String(describing: error))))
        }
    }

    /// Thrown by the last look when the message may no longer go.
    struct NotSent: Error {}

    /// Asks the ``SendGate`` whether the message may still go; nil when it may, otherwise
    /// what became of it: suppressed, no longer ours (taken over, or given back at
    /// shutdown), or deferred a minute, uncounted, because the database could not be asked.
    private func lastLook(_ message: OutboxMessage) async -> Step? {
        let claim = message.claimKey
        switch await gate.check(claim) {
        case .clear:
            // Still ours by the database's clock; by ours, not given back at shutdown and
            // with its lease not lapsed (renewals failing).
            if !context.ledger.isReleased(claim), context.ledger.mayStart(claim, now: .now, margin: .zero) { return nil }
            context.logger.warning("lease may have lapsed before sending; not sent by this worker", metadata: ["message": "\(message.id)"])
            context.finished(claim, result: nil)
            return .handled
        case .blocked(let reason):
            context.metrics.suppressedInFlight(channel: message.channel)
            context.logger.notice("suppressed after it was claimed; not sent", metadata: [
                "message": "\(message.id)", "channel": "\(message.channel)", "status": "\(MessageStatus.suppressed.rawValue)",
                "reason": "\(reason)",
            ])
            context.finished(claim, result: nil)
            return .handled
        case .lost:
            context.logger.warning("lease lost before sending; not sent by this worker", metadata: ["message": "\(message.id)"])
            context.finished(claim, result: nil)
            return .handled
        case .unavailable(let why):
            // Never sent unchecked, and not an attempt: back to pending for a minute (a
            // statement that fails every time would otherwise spin claim after claim).
            if !context.ledger.isReleased(claim) {
                let until = Date().addingTimeInterval(60)
                let kept = await main.persist(String(message.id), what: "a deferral", failed: false) {
                    try await $0.messages.deferMessage(claim, until: until, reason: "deferred: \(why)")
                }
                if kept { context.logger.warning("not sent: consent could not be checked; deferred a minute", metadata: ["message": "\(message.id)", "error": "\(why)"]) }
                context.dueMayHaveChanged()
            }
            context.finished(claim, result: nil)
            return .handled
        }
    }

    /// Records a deferral or an expiry (neither is an attempt) and logs one line.
    private func reschedule(_ message: OutboxMessage, explanation: Explanation, _ write: @Sendable (Stores) async throws -> Bool) async {
        var metadata: Logger.Metadata = [
            "message": "\(message.id)", "channel": "\(message.channel)", "time_zone": "\(explanation.timeZone)",
        ]
        let kept = await main.persist(String(message.id), what: "a scheduling decision", failed: false, write)
        context.dueMayHaveChanged()
        switch explanation.decision {
        case .deferred(let until, let reasons):
            metadata["status"] = "\(MessageStatus.pending.rawValue)"
            metadata["until"] = "\(Int64(clampingFloor: until.timeIntervalSince1970))"
            metadata["reason"] = "\(reasons.joined(separator: "; "))"
            if kept { context.logger.info("deferred", metadata: metadata) }
        case .expired(let reason):
            metadata["status"] = "\(MessageStatus.expired.rawValue)"
            metadata["reason"] = "\(reason)"
            if kept { context.logger.warning("expired; not sent", metadata: metadata) }
        case .send:
            break
        }
        context.finished(message.claimKey, result: nil)
    }
}
