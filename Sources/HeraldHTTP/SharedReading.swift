import Synchronization

/// A value read from the database at most once per `interval`, however many requests ask
/// for it at once: one reads, the others wait for that reading (or get the last one while
/// it is fresh). What keeps a flood of unauthenticated `/healthz` or scrapes of `/metrics`
/// from taking every listener connection away from signed replies.
final class SharedReading<Value: Sendable>: Sendable {
    private let interval: Duration
    private let state = Mutex(State())

    private struct State {
        var value: Value?
        var readAt: ContinuousClock.Instant?
        var reading = false
        var waiters: [CheckedContinuation<Value, Never>] = []
    }

    private enum Step { case fresh(Value), join, lead }

    init(interval: Duration) {
        self.interval = interval
    }

    /// The last value when it is younger than the interval; otherwise a new reading by
    /// `read`, shared with everyone who asks while it runs.
    func get(_ read: @Sendable () async -> Value) async -> Value {
        let now = ContinuousClock.now
        let step = state.withLock { s -> Step in
            if let value = s.value, let at = s.readAt, now - at < interval { return .fresh(value) }
            if s.reading { return .join }
            s.reading = true
            return .lead
        }
        switch step {
        case .fresh(let value):
            return value
        case .join:
            return await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Value? in
                    if !s.reading, let value = s.value { return value }
                    s.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        case .lead:
            let value = await read()
            let waiters = state.withLock { s -> [CheckedContinuation<Value, Never>] in
                s.value = value
                s.readAt = .now
                s.reading = false
                defer { s.waiters = [] }
                return s.waiters
            }
            for waiter in waiters { waiter.resume(returning: value) }
            return value
        }
    }
}
