import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Logging

/// Lease renewal and shutdown: what the worker holds, and how it gives it back.
extension Worker {
    // MARK: Leases

    /// Renews every held claim each third of a lease; the local deadline moves only when
    /// the database confirmed the renewal (measured from before the statement was sent).
    func renewLoop() async {
        let every = settings.lease / 3
        while !Task.isCancelled {
            try? await Task.sleep(for: every)
            if Task.isCancelled { return }
            let claims = leases.claims
            guard !claims.isEmpty else { continue }
            do {
                let sentAt = ContinuousClock.now
                let kept = try await withDatabase { try await $0.renew(claims, lease: self.settings.lease) }
                leases.renewed(kept, sentAt: sentAt, lease: settings.lease)
                for claim in claims where !kept.contains(claim) && leases.contains(claim) {
                    logger.warning("lease lost while delivering (another worker took the message over)",
                                   metadata: ["message": "\(claim.id)", "attempt": "\(claim.attempt)"])
                }
            } catch {
                logger.warning("could not renew leases", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Shutdown

    /// After the claim loop stops: returns claims never started, waits for deliveries in
    /// flight until the grace period (counted from the stop request) ends, then returns the
    /// rest uncounted. Whatever the database is doing, it ends a few seconds after the grace
    /// period: what cannot be returned stays leased and is recovered by lease expiry.
    func drain() async {
        let unstarted = ready.map(\.claimKey) + lapsed
        if !unstarted.isEmpty {
            // Claimed but never started: back to pending at once, uncounted.
            ready = []
            lapsed = []
            let count = await giveBack(unstarted)
            for claim in unstarted { leases.remove(claim) }
            logger.notice("stopping: returned claimed messages not yet started to pending", metadata: ["released": "\(count.map(String.init) ?? "none: database unreachable")"])
        }
        notifier.stopping(status: "stopping: \(leases.count) deliveries in flight")
        if !leases.isEmpty {
            logger.notice("stopping: waiting for deliveries in flight", metadata: [
                "in_flight": "\(leases.count)", "grace": "\(DurationText.format(settings.shutdownGrace))",
            ])
        }
        let deadline = graceDeadline ?? ContinuousClock.now + settings.shutdownGrace
        while !leases.isEmpty && ContinuousClock.now < deadline {
            await wake.wait(timeout: min(deadline - ContinuousClock.now, .seconds(1)))
        }
        stop.withLock { $0.hard = true }
        if !leases.isEmpty {
            let claims = leases.claims
            released.formUnion(claims)
            let count = await giveBack(claims)
            logger.warning("grace period over; returned unfinished claims to pending without counting the attempt", metadata: [
                "released": "\(count.map(String.init) ?? "none: database unreachable")", "in_flight": "\(claims.count)",
            ])
        }
    }

    /// Returns claims uncounted, trying for at most a few seconds; nil when the database
    /// did not answer (the leases then expire). A statement blocked on a silent network is
    /// cut off by shutting the connection's socket.
    private func giveBack(_ claims: [ClaimKey]) async -> Int? {
        let connection = main
        let cutoff = Task {
            try await Task.sleep(for: Self.giveBackLimit)
            connection.abort()
        }
        defer { cutoff.cancel() }
        do {
            if !(await main.isConnected) {
                // No new connection during a known outage or past the grace period: connecting
                // to a silent network could take connect_timeout, longer than the bound.
                guard !hardStop, outageSince == nil else { return nil }
                try await main.connect()
            }
            return try await store.release(claims)
        } catch {
            logger.warning("could not return claims to pending", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// How long shutdown tries to return claims before leaving them to lease expiry.
    static let giveBackLimit: Duration = .seconds(3)
}
