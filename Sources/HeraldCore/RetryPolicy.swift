/// What follows a failed attempt: try again after a delay, or stop.
///
/// A value, decided without I/O from the attempt number, the error's class and the
/// provider's `Retry-After`: transient errors are retried with ``Backoff`` while attempts
/// are left (the message's own `max_attempts`, else the configured one); permanent errors
/// and opt-outs stop at once; a transient error on the last attempt stops with
/// "gave up after N attempts". Reasons are outside text, cleaned and capped (``SafeText``).
public struct RetryPolicy: Sendable, Equatable {
    public var backoff: Backoff
    /// Attempts a message gets when its row does not say (`[retry] max_attempts`).
    public var maxAttempts: Int

    public init(backoff: Backoff, maxAttempts: Int) {
        self.backoff = backoff
        self.maxAttempts = maxAttempts
    }

    /// The decision after a failed attempt.
    public enum Step: Sendable, Equatable {
        /// Back to `pending`, due again after `after`.
        case retry(after: Duration, reason: String)
        /// `failed`, for good.
        case fail(reason: String)
    }

    /// What to do after attempt `attempt` (1-based) failed with `error`; `rowMaximum` is the
    /// message's own `max_attempts`. `unit` draws the jitter (a number in `[0, 1]`).
    public func next(after error: DeliveryError, attempt: Int, rowMaximum: Int? = nil,
                     unit: () -> Double = { Double.random(in: 0...1) }) -> Step {
        let reason = SafeText.clean(error.reason)
        guard case .transient(_, _, let retryAfter) = error else { return .fail(reason: reason) }
        guard attempt < (rowMaximum ?? maxAttempts) else {
            return .fail(reason: SafeText.clean("gave up after \(attempt) attempts: \(reason)"))
        }
        return .retry(after: backoff.delay(afterAttempt: attempt, retryAfter: retryAfter, unit: unit), reason: reason)
    }
}
