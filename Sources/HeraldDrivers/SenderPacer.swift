import HeraldCore

/// Spaces one daemon's transfers per sender, by the channel's ``SenderLimits``.
///
/// The claim statement already hands out a sender's tokens (shared by every daemon), so a
/// claimed message rarely waits here; this pacer smooths what the claim cannot see: the
/// time between a claim and its transfer differs from message to message, and a provider
/// that allows one SMS a second per number counts when requests arrive.
///
/// Two steps. ``acquire(key:)`` reserves the sender's next slot and waits for it, before the
/// daemon's last look at the message (a database read). ``dispatch(key:)`` is called just
/// before the request goes out and holds it, when needed, until it is spaced by the same
/// pace from the sender's earlier dispatches as they really happened: a message that left
/// its slot late (the last look took long, the machine was busy) pushes its successor
/// back, instead of the two reaching the provider closer than it allows.
actor SenderPacer {
    let limits: SenderLimits
    private var state: [String: Double] = [:]
    private var dispatched: [String: Double] = [:]
    private let origin = ContinuousClock.now

    init(limits: SenderLimits) {
        self.limits = limits
    }

    /// Waits for the next slot of the sender with key `key` (nothing to wait for when it is unlimited).
    func acquire(key: String) async throws {
        guard let pace = limits.pace(forKey: key) else { return }
        let now = ContinuousClock.now, t = (now - origin).seconds
        let reserved = pace.reserve(at: t, tat: state[key])
        state[key] = reserved.tat
        try await Self.sleep(from: now, seconds: reserved.slot - t)
    }

    /// Waits until a request of the sender with key `key` may leave, by the times its earlier
    /// requests left (usually at once: ``acquire(key:)`` already spaced them).
    func dispatch(key: String) async throws {
        guard let pace = limits.pace(forKey: key) else { return }
        let now = ContinuousClock.now, t = (now - origin).seconds
        let reserved = pace.reserve(at: t, tat: dispatched[key])
        dispatched[key] = reserved.tat
        try await Self.sleep(from: now, seconds: reserved.slot - t)
    }

    private static func sleep(from now: ContinuousClock.Instant, seconds wait: Double) async throws {
        if wait > 0 { try await Task.sleep(until: now + .milliseconds(Int64(clampingFloor: (wait * 1000).rounded(.up))), clock: .continuous) }
    }
}
