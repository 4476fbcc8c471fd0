import ServiceLifecycle

extension DaemonContext {
    /// The loop of a service that works through a table (client replies, events): after
    /// startup, `batch` runs again at once while it reports more work, and otherwise waits
    /// for `wake` (a NOTIFY) or the poll interval. Returns on graceful shutdown or
    /// cancellation, after the batch in progress.
    func drainLoop(wake: WakeSignal, _ batch: @escaping @Sendable () async -> Bool) async {
        let stop = StopFlag()
        guard await waitForStartup() else { return }
        await withTaskCancellationOrGracefulShutdownHandler {
            while !stop.isSet {
                if await batch() { continue }
                _ = await wake.wait(timeout: self.settings.pollInterval)
            }
        } onCancelOrGracefulShutdown: {
            stop.set()
            wake.signal()
        }
    }
}
