import Synchronization

/// The port a listener is bound to, for whoever waits for it (tests, the demo): known once
/// the server accepts connections, nil if it stopped before. Shared by the public listener
/// and the admin API.
public final class BoundPort: Sendable {
    private let state = Mutex<(port: Int?, finished: Bool, waiters: [CheckedContinuation<Int?, Never>])>((nil, false, []))

    public init() {}

    /// The port once bound; nil when the listener stopped without binding.
    public func wait() async -> Int? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> Int?? in
                if let port = s.port { return .some(port) }
                if s.finished { return .some(nil) }
                s.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Records the port (`port`), or that the listener stopped (`finished`); wakes the waiters.
    public func set(_ port: Int?, finished: Bool = false) {
        let (waiters, known) = state.withLock { s -> ([CheckedContinuation<Int?, Never>], Int?) in
            if let port { s.port = port }
            if finished { s.finished = true }
            guard s.port != nil || s.finished else { return ([], s.port) }
            defer { s.waiters = [] }
            return (s.waiters, s.port)
        }
        for waiter in waiters { waiter.resume(returning: known) }
    }
}
