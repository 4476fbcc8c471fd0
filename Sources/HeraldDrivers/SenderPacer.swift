import HeraldCore

/// Spaces one daemon's transfers per sender, by the channel's ``SenderLimits``.
///
/// The claim statement already hands out a sender's tokens (shared by every daemon), so a
/// claimed message rarely waits here; this pacer smooths what the claim cannot see: the
/// time between a claim and its transfer differs from message to message, and a provider
/// that allows one SMS a second per number counts when requests arrive.
///
/// Two steps. ``acquire(key:)`` reserves the sender's next slot and waits for it, before the
/// daemon's last look at the message (a database read) and before a session is taken.
/// ``dispatched(key:)`` records when the request really left, and the next reservation
/// counts from there too: a message that left its slot late (the last look took long, the
/// machine was busy) pushes its successor back, instead of the two reaching the provider
/// closer than it allows. Nothing waits while holding a session (a wait there starved the
/// other senders of sessions: urgent messages behind a backlog waited seconds).
actor SenderPacer {
    let limits: SenderLimits
    private var state: [String: Double] = [:]
    private var left: [String: Double] = [:]
    private let origin = ContinuousClock.now

    init(limits: SenderLimits) {
        self.limits = limits
    }

    /// Waits for the next slot of the sender with key `key` (nothing to wait for when it is
    /// unlimited): the later of its next planned slot and the pace counted from the times its
    /// requests really left.
    func acquire(key: String) async throws {
        guard let pace = limits.pace(forKey: key) else { return }
        let now = ContinuousClock.now, t = (now - origin).seconds
        let reserved = pace.reserve(at: t, tat: max(state[key] ?? -.infinity, left[key] ?? -.infinity))
        state[key] = reserved.tat
        let wait = reserved.slot - t
        if wait > 0 { try await Task.sleep(until: now + .milliseconds(Int64(clampingFloor: (wait * 1000).rounded(.up))), clock: .continuous) }
    }

    /// Records that a request of the sender with key `key` leaves now (it does not wait).
    func dispatched(key: String) {
        guard let pace = limits.pace(forKey: key) else { return }
        left[key] = pace.reserve(at: (ContinuousClock.now - origin).seconds, tat: left[key]).tat
    }
}
