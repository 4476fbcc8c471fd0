import HeraldCore

/// Spaces one daemon's transfers per sender, by the channel's ``SenderLimits``.
///
/// The claim statement already hands out a sender's tokens (shared by every daemon), so a
/// claimed message rarely waits here; this pacer smooths what the claim cannot see: the
/// time between a claim and its transfer differs from message to message, and a provider
/// that allows one SMS a second per number counts when requests arrive.
actor SenderPacer {
    let limits: SenderLimits
    private var state: [String: Double] = [:]
    private let origin = ContinuousClock.now

    init(limits: SenderLimits) {
        self.limits = limits
    }

    /// Waits for the next slot of the sender with key `key` (nothing to wait for when it is unlimited).
    func acquire(key: String) async throws {
        guard let pace = limits.pace(forKey: key) else { return }
        let now = ContinuousClock.now
        let t = (now - origin).seconds
        let reserved = pace.reserve(at: t, tat: state[key])
        state[key] = reserved.tat
        let wait = reserved.slot - t
        if wait > 0 { try await Task.sleep(until: now + .milliseconds(Int64(clampingFloor: (wait * 1000).rounded(.up))), clock: .continuous) }
    }
}
