/// Bounds how many tests hold a database at once. Swift Testing runs as many tests in
/// parallel as the machine has cores (times a factor); each daemon test opens several
/// connections, so on a many-core CI machine the throwaway server ran out of
/// `max_connections`. A test already inside the gate (a nested `TestDatabase.with`) passes.
actor DatabaseGate {
    static let shared = DatabaseGate(limit: 8)

    @TaskLocal static var holding = false

    private let limit: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    /// Runs `body` once a place is free.
    static func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if holding { return try await body() }
        await shared.enter()
        do {
            let result = try await $holding.withValue(true) { try await body() }
            await shared.leave()
            return result
        } catch {
            await shared.leave()
            throw error
        }
    }

    private func enter() async {
        if inUse < limit { inUse += 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func leave() {
        if waiters.isEmpty { inUse -= 1 } else { waiters.removeFirst().resume() }
    }
}
