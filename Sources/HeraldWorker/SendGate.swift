import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Logging
import ServiceLifecycle
import Synchronization

/// The last look before a driver is called: is the message still ours, and may it still
/// go to its recipient? An opt-out can arrive while a claimed message waits for a delivery
/// slot or a rate limit, or while the message before it is with a slow provider; the claim
/// could not see it.
///
/// Delivery slots ask with ``check(_:)`` once their message is rendered, and wait. The
/// gate answers everyone waiting with one statement on its own connection
/// (`herald-gate`), as the ``OutcomeWriter`` group-commits outcomes: an idle daemon pays
/// one round trip per message, a busy one one per handful. The statement starts after the
/// slot asked, so an opt-out committed before a delivery began is always seen; one
/// committed while the statement runs is the "driver call already begun" case.
///
/// Messages found blocked are suppressed by the same statement. A lost connection is
/// reopened and the look taken again; past the shutdown grace, or when the statement
/// fails in a way that will not go away, the answer is ``Verdict/unavailable(_:)`` and the
/// message is not sent.
public final class SendGate: Service, Sendable {
    /// What the look found for one claim.
    public enum Verdict: Sendable, Equatable {
        case clear
        /// Now `suppressed`, with the reason.
        case blocked(String)
        /// No longer ours.
        case lost
        /// The database could not be asked: not sent (retried later), with why.
        case unavailable(String)
    }

    static let maxBatch = 500

    /// How long the claim's own look at consent stands in for this one: a message whose
    /// driver call begins within this of its claim statement is not looked at again. An
    /// opt-out committed at T therefore stops every message whose attempt begins after
    /// T + 20 ms (`deploy/drill stop-during-drain` checks it), and a drain that starts its
    /// batch at once pays nothing for the gate.
    public static let freshFor: Duration = .milliseconds(20)

    let context: DaemonContext
    let link: DatabaseLink
    private let queue = Mutex(Queue())
    private let signal = WakeSignal()

    private struct Queue {
        var waiting: [(claim: ClaimKey, reply: CheckedContinuation<Verdict, Never>)] = []
        var stopping = false
        var closed = false
    }

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        self.link = links.gate
    }

    /// Waits for the look at `claim`.
    func check(_ claim: ClaimKey) async -> Verdict {
        await withCheckedContinuation { continuation in
            let closed = queue.withLock { q -> Bool in
                if q.closed { return true }
                q.waiting.append((claim, continuation))
                return false
            }
            if closed {
                continuation.resume(returning: .unavailable("the daemon is stopping"))
            } else {
                signal.signal()
            }
        }
    }

    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while true {
                    await answer()
                    if queue.withLock({ $0.stopping && $0.waiting.isEmpty }) { break }
                    await signal.wait()
                }
            } onGracefulShutdown: {
                self.queue.withLock { $0.stopping = true }
                self.signal.signal()
            }
        } onCancel: {
            self.context.giveUp()
            self.queue.withLock { $0.stopping = true }
            self.signal.signal()
        }
        close()
    }

    /// Answers everyone waiting now, in batches.
    private func answer() async {
        while true {
            let batch = queue.withLock { q -> [(claim: ClaimKey, reply: CheckedContinuation<Verdict, Never>)] in
                let batch = Array(q.waiting.prefix(Self.maxBatch))
                q.waiting.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            let verdicts = await look(batch.map(\.claim))
            for (claim, reply) in batch { reply.resume(returning: verdicts[claim] ?? .lost) }
        }
    }

    private func look(_ claims: [ClaimKey]) async -> [ClaimKey: Verdict] {
        let started = ContinuousClock.now
        defer { context.metrics.observe(.gate, since: started) }
        while true {
            do {
                let found = try await link.withDatabase { try await $0.messages.clearForSending(claims) }
                return found.mapValues { clearance in
                    switch clearance {
                    case .clear: return .clear
                    case .blocked(let reason): return .blocked(reason)
                    case .lost: return .lost
                    }
                }
            } catch {
                let lasting = (error as? PostgresError).map { !$0.isTransient && !$0.isConnectionLoss } ?? false
                if context.hardStop || lasting {
                    let why = "could not check consent just before sending: \(error)"
                    context.logger.error("could not check claimed messages before sending; not sending them",
                                         metadata: ["count": "\(claims.count)", "error": "\(error)"])
                    return Dictionary(uniqueKeysWithValues: claims.map { ($0, Verdict.unavailable(why)) })
                }
                context.logger.error("could not check claimed messages before sending; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// After the group stopped: anyone still asking is told the daemon is stopping.
    private func close() {
        let left = queue.withLock { q -> [CheckedContinuation<Verdict, Never>] in
            q.closed = true
            defer { q.waiting = [] }
            return q.waiting.map(\.reply)
        }
        for reply in left { reply.resume(returning: .unavailable("the daemon is stopping")) }
    }
}
