import HeraldOutbox
import HeraldPostgres
import Synchronization

/// The listener's own database connections (`herald-http`), used round-robin. A request
/// never waits out an outage, so that a provider gets its 503 well within its own timeout
/// (Twilio's is 15 s) and retries or uses its fallback URL:
///
/// - each statement has a deadline (`[http] database_timeout`); past it the connection's
///   socket is shut (a database gone silent holds a libpq call until TCP gives up, minutes
///   later), the connection is marked down, and the request gets 503;
/// - a connection that is down is reopened in the background, one attempt at a time
///   (libpq's `connect_timeout` bounds each); requests meanwhile use the connections that
///   are up, or get 503 at once when none is;
/// - a lost connection found by a request is retried once on another connection that is up.
///
/// Every statement the listener runs is idempotent or harmless to repeat (inbound rows are
/// unique per provider id).
public final class ListenerDatabase: Sendable {
    private let slots: [Slot]
    private let next = Atomic<Int>(0)
    let timeout: Duration

    /// One connection (the supervisor the daemon and the CLI use too) and its load.
    final class Slot: Sendable {
        let supervised: SupervisedConnection
        var store: Stores { supervised.stores }
        /// Requests using it now (each waits behind the others on the connection's thread).
        let busy = Atomic<Int>(0)

        init(_ supervised: SupervisedConnection) { self.supervised = supervised }
    }

    /// Why a request got no answer from the database.
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    public init(databaseURL: String, size: Int, timeout: Duration = .seconds(3), applicationName: String = "herald-http") {
        slots = (0..<max(1, size)).map { _ in
            Slot(SupervisedConnection(databaseURL: databaseURL, applicationName: applicationName, statementTimeout: .seconds(10)))
        }
        self.timeout = timeout
    }

    /// Runs `operation` on the next connection that is up, within ``timeout``.
    public func run<T: Sendable>(_ operation: @escaping @Sendable (Stores) async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var tried: Set<Int> = []
        while true {
            guard let index = try await pick(excluding: tried, deadline: deadline) else {
                throw Unavailable(description: "no database connection is up (reconnecting in the background)")
            }
            tried.insert(index)
            let slot = slots[index]
            do {
                return try await withDeadline(deadline, slot: slot) { try await operation(slot.store) }
            } catch let error as PostgresError where error.isConnectionLoss {
                markDown(slot)
                if ContinuousClock.now >= deadline { throw error }
            }
        }
    }

    /// A connection that is up, not among `excluding`. When none is, reopening starts; the
    /// request waits for the first to finish (until `deadline`) only at startup or when
    /// nothing was being reopened before it; while a reconnect after a failure is under way,
    /// nil at once.
    private func pick(excluding: Set<Int>, deadline: ContinuousClock.Instant) async throws -> Int? {
        let start = next.add(1, ordering: .relaxed).oldValue
        var reconnecting = false
        var best: (index: Int, busy: Int)?
        // The least busy connection that is up (round-robin among equals): a request never
        // queues behind a slow one (a metrics reading on a large table) when another is free.
        for offset in 0..<slots.count {
            let index = Int((start &+ offset).magnitude % UInt(slots.count))
            guard !excluding.contains(index) else { continue }
            switch slots[index].supervised.state {
            case .up:
                let busy = slots[index].busy.load(ordering: .relaxed)
                if best == nil || busy < best!.busy { best = (index, busy) }
            case .connecting: reconnecting = true
            case .down: break
            }
        }
        if let best { return best.index }
        for slot in slots { reconnect(slot) }
        // A reconnect after a failure is under way: fail fast. At startup (never connected
        // yet), or when nothing was under way before this request, wait for the first to finish.
        if reconnecting && slots.contains(where: { $0.supervised.everUp }) { return nil }
        while ContinuousClock.now < deadline {
            if let index = slots.indices.first(where: { !excluding.contains($0) && slots[$0].supervised.state == .up }) {
                return index
            }
            if slots.allSatisfy({ $0.supervised.state == .down }) { return nil }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Starts reopening `slot` in the background unless it is up or already being reopened.
    private func reconnect(_ slot: Slot) { slot.supervised.connectInBackground() }

    private func markDown(_ slot: Slot) { slot.supervised.markDown() }

    /// Runs `body` until `deadline`; past it, shuts the connection's socket so that the
    /// blocked libpq call returns, marks it down, and throws at once. The statement runs in
    /// a task of its own that is not waited for past the deadline: a call queued behind a
    /// reconnect (up to libpq's connect timeout) must not hold the request.
    private func withDeadline<T: Sendable>(_ deadline: ContinuousClock.Instant, slot: Slot,
                                           _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        slot.busy.add(1, ordering: .relaxed)
        let answered = Once()
        let timeout = self.timeout
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let timer = Task {
                try? await Task.sleep(until: deadline)
                guard !Task.isCancelled, answered.claim() else { return }
                self.markDown(slot)
                continuation.resume(throwing: Unavailable(description: "the database did not answer within \(timeout)"))
            }
            Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                slot.busy.subtract(1, ordering: .relaxed)
                timer.cancel()
                if answered.claim() {
                    continuation.resume(with: result)
                }
            }
        }
    }

    /// Opens every connection in the background (the listener's start).
    public func open() {
        for slot in slots { reconnect(slot) }
    }

    /// True for the first caller only: who answers a request.
    final class Once: Sendable {
        private let done = Atomic<Bool>(false)
        func claim() -> Bool { done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
    }

    public func close() async {
        for slot in slots { await slot.supervised.close() }
    }
}
