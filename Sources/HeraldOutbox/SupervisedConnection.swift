import HeraldPostgres
import Synchronization

/// One database connection Herald keeps, with what is known of it: the one connection
/// supervisor of the daemon (``Stores`` behind each of its `herald*` connections), the
/// listener (its `herald-http` pool) and the CLI.
///
/// It connects one attempt at a time (callers that ask while an attempt is under way share
/// it), remembers whether and when it was last established, and can be cut at once
/// (``markDown()``, when a statement outlived its deadline). libpq's errors reach callers
/// with the password redacted (``PostgresConnection``), and `statementTimeout` bounds every
/// statement on the server. What to do while it is down is the user's policy: the daemon
/// retries with backoff and waits, the listener answers 503 at once while a reconnect is
/// under way, the CLI gives up after one attempt.
public final class SupervisedConnection: Sendable {
    public let connection: PostgresConnection
    public let stores: Stores

    /// Whether the connection is usable now.
    public enum State: Sendable, Equatable { case down, connecting, up }

    private struct Status {
        var state = State.down
        var attempt: Task<Void, any Error>?
        var connectedAt: ContinuousClock.Instant?
    }

    private let status = Mutex(Status())

    /// `workerID` only for the daemon's connections (``MessageStore/workerID``); `settings`
    /// as ``PostgresConnection/init(connectionString:applicationName:statementTimeout:settings:)``.
    public init(databaseURL: String, applicationName: String, statementTimeout: Duration?, workerID: String? = nil,
                settings: [String: String] = [:]) {
        connection = PostgresConnection(connectionString: databaseURL, applicationName: applicationName, statementTimeout: statementTimeout,
                                        settings: settings)
        stores = Stores(connection: connection, workerID: workerID)
    }

    public var state: State { status.withLock { $0.state } }

    /// When it was last established (nil: never).
    public var connectedAt: ContinuousClock.Instant? { status.withLock { $0.connectedAt } }

    /// Whether it has ever been established (a listener waits for the first connect at
    /// startup, and fails fast after).
    public var everUp: Bool { connectedAt != nil }

    /// One attempt to (re)connect, shared with any caller already waiting for one.
    public func connect() async throws {
        let attempt = startAttempt()
        defer { status.withLock { if $0.attempt == attempt { $0.attempt = nil } } }
        try await attempt.value
    }

    /// Starts an attempt in the background unless it is up or one is under way. The state
    /// says `connecting` before this returns, so a caller that looks next knows a reconnect
    /// is under way.
    public func connectInBackground() {
        guard status.withLock({ $0.state == .down && $0.attempt == nil }) else { return }
        let attempt = startAttempt()
        Task {
            _ = try? await attempt.value
            status.withLock { if $0.attempt == attempt { $0.attempt = nil } }
        }
    }

    /// The attempt under way, or a new one (the state set to `connecting` under the lock).
    private func startAttempt() -> Task<Void, any Error> {
        status.withLock { s -> Task<Void, any Error> in
            if let running = s.attempt { return running }
            s.state = .connecting
            let task = Task {
                do {
                    try await self.connection.connect()
                    self.status.withLock {
                        $0.connectedAt = .now
                        $0.state = .up
                    }
                } catch {
                    self.status.withLock { $0.state = .down }
                    throw error
                }
            }
            s.attempt = task
            return task
        }
    }

    /// Cuts the connection at once (its socket is shut, a blocked call returns) and marks it
    /// down.
    public func markDown() {
        connection.abort()
        status.withLock { if $0.state == .up { $0.state = .down } }
    }

    /// Marks it down after a lost connection was noticed (nothing to cut).
    public func noteLost() {
        status.withLock { if $0.state == .up { $0.state = .down } }
    }

    public func close() async {
        status.withLock { $0.state = .down }
        await connection.close()
    }
}
