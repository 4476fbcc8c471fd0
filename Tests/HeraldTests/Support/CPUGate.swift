/// Keeps the suite's CPU-heavy peer (schemathesis generating hundreds of requests) and its
/// tests that time a burst against the listener (a kill -9 in the middle of 1,000 signed
/// requests with a 5 s client timeout) from running at once: on two cores, one starved the
/// other's requests into timeouts. The console's browser scenarios (Chromium) and the
/// 10,000-event burst take it too: together they starved each other past their waits.
/// Taken outside `TestDatabase.with`.
actor CPUGate {
    static let shared = CPUGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await shared.enter()
        do {
            let result = try await body()
            await shared.leave()
            return result
        } catch {
            await shared.leave()
            throw error
        }
    }

    private func enter() async {
        if !busy { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func leave() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
