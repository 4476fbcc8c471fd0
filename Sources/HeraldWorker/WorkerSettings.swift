import HeraldCore

/// What the worker needs to know, independent of where it was configured.
public struct WorkerSettings: Sendable {
    /// Lease owner name, unique per running daemon (default `hostname:pid`).
    public var workerID: String
    public var concurrency: Int
    public var batchSize: Int
    public var pollInterval: Duration
    public var lease: Duration
    public var shutdownGrace: Duration
    /// Wake on NOTIFY (a second connection listens).
    public var listen: Bool
    public var maxAttempts: Int
    public var backoff: Backoff
    public var defaultLocale: String
    /// Exit once nothing is pending or sending (demo, drills, tests).
    public var exitWhenIdle: Bool

    public init(workerID: String, concurrency: Int = 8, batchSize: Int = 10, pollInterval: Duration = .seconds(5),
                lease: Duration = .seconds(60), shutdownGrace: Duration = .seconds(20), listen: Bool = true,
                maxAttempts: Int = 5, backoff: Backoff = Backoff(base: .seconds(30), cap: .seconds(3600)),
                defaultLocale: String = "en", exitWhenIdle: Bool = false) {
        self.workerID = workerID
        self.concurrency = concurrency
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.lease = lease
        self.shutdownGrace = shutdownGrace
        self.listen = listen
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.defaultLocale = defaultLocale
        self.exitWhenIdle = exitWhenIdle
    }
}
