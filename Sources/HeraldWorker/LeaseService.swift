import HeraldCore
import HeraldOutbox
import Logging
import ServiceLifecycle

/// Leases: renews every claim the daemon holds each third of a lease, and takes over
/// messages whose lease expired (a worker that died) every `min(lease/2, 30s)`, never one
/// this daemon holds.
///
/// A claim's local deadline moves only when the database confirmed the renewal (measured
/// from before the statement was sent), so the claim loop never starts a message whose
/// lease may have lapsed.
public final class LeaseService: Service, Sendable {
    let context: DaemonContext
    let link: DatabaseLink

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        self.link = links.main
    }

    public func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            await self.loop(stop)
        } onGracefulShutdown: {
            stop.set()
        }
    }

    private func loop(_ stop: StopFlag) async {
        let lease = context.settings.lease
        let renewEvery = lease / 3
        let recoverEvery = min(lease / 2, .seconds(30))
        var nextRenew = ContinuousClock.now + renewEvery
        var nextRecovery = ContinuousClock.now + recoverEvery
        while true {
            let next = min(nextRenew, nextRecovery)
            if await stop.sleep(for: next - ContinuousClock.now) { return }
            let now = ContinuousClock.now
            if now >= nextRenew {
                nextRenew = now + renewEvery
                await renew()
            }
            if now >= nextRecovery, context.startup.isDone {
                nextRecovery = now + recoverEvery
                await recover()
            }
        }
    }

    /// Renews every held claim once.
    func renew() async {
        let claims = context.ledger.claims
        guard !claims.isEmpty else { return }
        let lease = context.settings.lease
        do {
            let sentAt = ContinuousClock.now
            let kept = try await link.withDatabase { try await $0.messages.renew(claims, lease: lease) }
            context.ledger.renewed(Array(kept), sentAt: sentAt, lease: lease)
            for claim in claims where !kept.contains(claim) && context.ledger.contains(claim) {
                context.logger.warning("lease lost while delivering (another worker took the message over)",
                                       metadata: ["message": "\(claim.id)", "attempt": "\(claim.attempt)"])
            }
        } catch {
            context.logger.warning("could not renew leases", metadata: ["error": "\(error)"])
        }
    }

    /// Takes over messages whose lease expired, except the ones this daemon holds.
    func recover() async {
        let holding = context.ledger.ids
        let maxAttempts = context.settings.maxAttempts
        do {
            let recovered = try await link.withDatabase {
                try await $0.messages.recoverExpiredLeases(defaultMaxAttempts: maxAttempts, holding: holding)
            }
            if !recovered.isEmpty {
                context.dueMayHaveChanged()
                context.wake.signal()
            }
            for row in recovered {
                context.logger.warning("lease expired; message taken over from a stopped worker", metadata: [
                    "message": "\(row.id)", "previous_worker": "\(row.previousWorker)", "status": "\(row.status)",
                ])
            }
        } catch {
            context.noteFailedRound("could not recover expired leases", error)
        }
    }
}
