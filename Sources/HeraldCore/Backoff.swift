/// Retry delays: exponential growth from `base`, capped at `cap`, with optional jitter.
///
/// With jitter (the default) the delay before retry *n* is uniform in
/// `[bound/2, bound]` where `bound = min(cap, base·2^(n-1))` ("equal jitter"): a
/// burst of failures is spread over time instead of retried in lockstep, and yet
/// every delay is at least half its bound, so `max_attempts` attempts always span
/// at least half the schedule. (Full jitter, `[0, bound]`, can retry almost at
/// once several times in a row and use up every attempt during a short outage.)
/// A provider's `Retry-After` is a floor, honoured up to ``maximumRetryAfter`` (a day):
/// `Retry-After: 10000000000000` must not become a delay PostgreSQL cannot store.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    public var jitter: Bool

    /// The longest delay a provider's `Retry-After` can impose: one day.
    public static let maximumRetryAfter: Duration = .seconds(86_400)

    public init(base: Duration, cap: Duration, jitter: Bool = true) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The upper bound of the delay after failed attempt `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = max(0, min(attempt - 1, 62))
        let baseSeconds = base.seconds
        let grown = baseSeconds * Double(1 << UInt64(min(exponent, 52)))
        return .seconds(min(cap.seconds, grown))
    }

    /// The delay after failed attempt `attempt`. `unit` returns a number in `[0, 1]`.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, unit: () -> Double) -> Duration {
        let ceiling = ceiling(afterAttempt: attempt)
        var chosen = jitter ? .seconds(ceiling.seconds * (0.5 + 0.5 * min(1, max(0, unit())))) : ceiling
        if let retryAfter {
            let floor = retryAfter.clamped(to: Self.maximumRetryAfter)
            if floor > chosen { chosen = floor }
        }
        return chosen
    }

    /// The delay using the system random generator.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        delay(afterAttempt: attempt, retryAfter: retryAfter) { Double.random(in: 0...1) }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
