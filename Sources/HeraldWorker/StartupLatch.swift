import ServiceLifecycle
import Synchronization

/// Startup, done once by the claim service's first step (schema checked, worker id locked,
/// own leases recovered, templates loaded). Services that must not act before it (lease
/// recovery, retention, replies, events) await it; nothing polls.
final class StartupLatch: Sendable {
    private struct State {
        var done = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        /// Waits whose task was cancelled or shut down before they were registered.
        var abandoned: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    var isDone: Bool { state.withLock { $0.done } }

    /// Marks startup done and wakes every waiter.
    func finish() {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.done = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// Waits until startup is done (true). A graceful shutdown or cancellation ends the wait
    /// with whether startup finished meanwhile (the claim loop can start, drain and stop
    /// before a waiter runs, with `--exit-when-idle`).
    func wait() async -> Bool {
        let id = state.withLock { s -> Int in
            defer { s.nextID += 1 }
            return s.nextID
        }
        return await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { s -> Bool? in
                    if s.done || s.abandoned.remove(id) != nil { return s.done }
                    s.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancelOrGracefulShutdown: {
            let (waiter, done) = self.state.withLock { s -> (CheckedContinuation<Bool, Never>?, Bool) in
                guard let waiter = s.waiters.removeValue(forKey: id) else {
                    if !s.done { s.abandoned.insert(id) }
                    return (nil, s.done)
                }
                return (waiter, s.done)
            }
            waiter?.resume(returning: done)
        }
    }
}
