import Synchronization

/// A service's own stop request (its graceful shutdown, or the group's cancellation), with
/// a sleep that ends early when it is set.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    private let signal = WakeSignal()

    var isSet: Bool { flag.withLock { $0 } }

    func set() {
        flag.withLock { $0 = true }
        signal.signal()
    }

    /// Sleeps for `duration`, or less if the flag is set (or the task cancelled) meanwhile;
    /// returns whether the service should stop.
    func sleep(for duration: Duration) async -> Bool {
        if isSet { return true }
        await withTaskCancellationHandler {
            _ = await signal.wait(timeout: duration)
        } onCancel: {
            self.set()
        }
        return isSet
    }
}
