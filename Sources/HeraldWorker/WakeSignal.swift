import Synchronization

/// Wakes the worker's main loop: a NOTIFY arrived, a delivery finished, or shutdown began.
///
/// One waiter at a time. A signal sent while nobody waits is remembered, so a
/// wake-up is never lost between a check and the wait that follows it.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Bool, Never>?
        var timer: Task<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    /// Wakes the current or next waiter.
    func signal() {
        let (waiter, timer) = state.withLock { s -> (CheckedContinuation<Bool, Never>?, Task<Void, Never>?) in
            guard let w = s.waiter else {
                s.pending = true
                return (nil, nil)
            }
            s.waiter = nil
            let t = s.timer
            s.timer = nil
            return (w, t)
        }
        timer?.cancel()
        waiter?.resume(returning: true)
    }

    /// Returns after a signal, with no timer (the outcome writer's wait: it has nothing
    /// to do until one comes, and a timer task per wait would cost more than the wait).
    func wait() async {
        _ = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending {
                    s.pending = false
                    return true
                }
                s.generation += 1
                s.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume(returning: true) }
        }
    }

    /// Returns after a signal (true) or after `timeout` (false), whichever comes first.
    @discardableResult
    func wait(timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let generation = state.withLock { s -> Int? in
                if s.pending {
                    s.pending = false
                    return nil
                }
                s.generation += 1
                s.waiter = continuation
                return s.generation
            }
            guard let generation else {
                continuation.resume(returning: true)
                return
            }
            let timer = Task { [self] in
                try? await Task.sleep(for: timeout)
                self.expire(generation)
            }
            let stale = state.withLock { s -> Bool in
                guard s.generation == generation, s.waiter != nil else { return true }
                s.timer = timer
                return false
            }
            if stale { timer.cancel() }
        }
    }

    private func expire(_ generation: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard s.generation == generation, let w = s.waiter else { return nil }
            s.waiter = nil
            s.timer = nil
            return w
        }
        waiter?.resume(returning: false)
    }
}
