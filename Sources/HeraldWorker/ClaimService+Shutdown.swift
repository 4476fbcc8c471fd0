import HeraldCore
import HeraldOutbox
import Logging

/// Giving claims back: those whose lease may have lapsed before they started, and at
/// shutdown those never started or still in flight when the grace period ends.
extension ClaimService {
    /// Returns the claims set aside by ``nextStartable()`` to pending, uncounted
    /// (attempt-checked: one taken over meanwhile is left to its new owner).
    func releaseLapsed() async throws {
        let claims = lapsed
        let count = try await main.withDatabase { try await $0.messages.release(claims) }
        lapsed.removeAll { claims.contains($0) }
        for claim in claims { context.finished(claim, result: nil, signal: false) }
        context.dueMayHaveChanged()
        logger.warning("returned claims whose lease may have lapsed before they started (database unreachable for too long)",
                       metadata: ["claims": "\(claims.count)", "released": "\(count)"])
    }

    /// After the claim loop stops: returns claims never started, waits for deliveries in
    /// flight (and their outcomes) until the grace period (counted from the stop request)
    /// ends, then returns the rest uncounted. Whatever the database is doing, it ends a few
    /// seconds after the grace period: what cannot be returned stays leased and is
    /// recovered by lease expiry. Returns whether the grace period ended with deliveries or
    /// outcomes in flight and the database did not answer the give-back: statements may then
    /// be blocked in libpq on a silent server or network.
    @discardableResult
    func drain() async -> Bool {
        let ledger = context.ledger
        let unstarted = ready.map(\.claimKey) + lapsed
        if !unstarted.isEmpty {
            // Claimed but never started: back to pending at once, uncounted.
            ready = []
            lapsed = []
            let count = await giveBack(unstarted)
            for claim in unstarted { ledger.finish(claim, result: nil) }
            logger.notice("stopping: returned claimed messages not yet started to pending", metadata: ["released": "\(count.map(String.init) ?? "none: database unreachable")"])
        }
        context.notifier.stopping(status: "stopping: \(ledger.count) deliveries in flight")
        if !ledger.isEmpty {
            logger.notice("stopping: waiting for deliveries in flight", metadata: [
                "in_flight": "\(ledger.count)", "grace": "\(DurationText.format(settings.shutdownGrace))",
            ])
        }
        let deadline = context.graceDeadline ?? ContinuousClock.now + settings.shutdownGrace
        while !ledger.isEmpty && ContinuousClock.now < deadline {
            await context.wake.wait(timeout: min(deadline - ContinuousClock.now, .seconds(1)))
        }
        context.giveUp()
        var unanswered = false
        if !ledger.isEmpty {
            let claims = ledger.claims
            ledger.release(claims)
            let count = await giveBack(claims)
            unanswered = count == nil
            logger.warning("grace period over; returned unfinished claims to pending without counting the attempt", metadata: [
                "released": "\(count.map(String.init) ?? "none: database unreachable")", "in_flight": "\(claims.count)",
            ])
        }
        return unanswered
    }

    /// Bounds a stop whatever the database does. The drain cuts statements blocked past the
    /// grace period, but only once the claim loop has left its statement: one blocked on a
    /// silent database (a hung server behind a live kernel answers keepalives; the server's
    /// `statement_timeout` never fires) would hold the process for ever. So, a few seconds
    /// after the grace period and the give-back's own bound, everything still waiting on the
    /// database gives up and every connection is cut.
    nonisolated func armStopCutoff() {
        let (context, links) = (self.context, self.links)
        let wait = context.graceDeadline.map { $0 - .now } ?? settings.shutdownGrace
        Task {
            try? await Task.sleep(for: max(.zero, wait) + Self.giveBackLimit + .seconds(2))
            context.giveUp()
            links.abort()
        }
    }

    /// Returns claims uncounted, trying for at most a few seconds; nil when the database
    /// did not answer (the leases then expire). A statement blocked on a silent network is
    /// cut off by shutting the connection's socket.
    private func giveBack(_ claims: [ClaimKey]) async -> Int? {
        let connection = main.connection
        let cutoff = Task {
            try await Task.sleep(for: Self.giveBackLimit)
            connection.abort()
        }
        defer { cutoff.cancel() }
        do {
            if !(await connection.isConnected) {
                // No new connection during a known outage or past the grace period: connecting
                // to a silent network could take connect_timeout, longer than the bound.
                guard !context.hardStop, !main.inOutage else { return nil }
                try await connection.connect()
            }
            return try await main.store.messages.release(claims)
        } catch {
            logger.warning("could not return claims to pending", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// How long shutdown tries to return claims before leaving them to lease expiry.
    static let giveBackLimit: Duration = .seconds(3)
}
