import Foundation
import HeraldCore
import HeraldInbound
import HeraldPipeline
import HeraldScheduling

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
    /// What follows a failed attempt (``backoff`` and ``maxAttempts`` as one value).
    public var retryPolicy: RetryPolicy { RetryPolicy(backoff: backoff, maxAttempts: maxAttempts) }
    /// The scheduling rules, rendering limits and links every message goes through (the
    /// same value `explain` and `templates preview` build from the configuration).
    public var pipeline: PipelineSettings
    public var defaultLocale: String {
        get { pipeline.defaultLocale }
        set { pipeline.defaultLocale = newValue }
    }
    /// An SMS rendering to more segments than this fails (nil: no limit).
    public var smsMaxSegments: Int? {
        get { pipeline.smsMaxSegments }
        set { pipeline.smsMaxSegments = newValue }
    }
    /// Finished messages older than this are deleted every `pruneInterval`, `pruneBatch` rows at a time (nil: never).
    public var retention: Duration?
    public var pruneBatch = 1000
    public var pruneInterval: Duration = .seconds(3600)
    /// `[channels.whatsapp] fallback_after` (nil: only failures make the SMS fallback).
    public var whatsappFallbackAfter: Duration?
    /// Exit once nothing is sending and nothing is due within `idleHorizon` (demo, drills, tests).
    public var exitWhenIdle: Bool
    /// With `exitWhenIdle`: messages due later than this are left pending.
    public var idleHorizon: Duration = .seconds(60)
    /// The longest any of the worker's statements may run (PostgreSQL's `statement_timeout`),
    /// so a stuck server cannot block the claim loop until the watchdog kills it (nil: the server's).
    public var statementTimeout: Duration? = .seconds(60)
    /// Rate limits per channel name (`rate`, `burst`, `ceiling`, `senders` of each
    /// `[channels.<name>]`): the claim takes no more than they allow.
    public var senderLimits: [String: SenderLimits] = [:]
    /// Keyword lists and Herald's answers to them (`[replies]`).
    public var replies = ReplySettings()
    /// Quiet hours, time zones and the minimum lead.
    public var scheduling: SchedulingPolicy {
        get { pipeline.scheduling }
        set { pipeline.scheduling = newValue }
    }
    /// An injected clock (tests): replaces the database's `now()` for "is it due" and
    /// the system clock for the rules. Nil: real time.
    public var clock: (@Sendable () -> Date)?

    public init(workerID: String, concurrency: Int = 8, batchSize: Int = 10, pollInterval: Duration = .seconds(5),
                lease: Duration = .seconds(60), shutdownGrace: Duration = .seconds(20), listen: Bool = true,
                maxAttempts: Int = 5, backoff: Backoff = Backoff(base: .seconds(30), cap: .seconds(3600)),
                defaultLocale: String = "en", exitWhenIdle: Bool = false,
                scheduling: SchedulingPolicy = SchedulingPolicy(), clock: (@Sendable () -> Date)? = nil) {
        self.pipeline = PipelineSettings(scheduling: scheduling, defaultLocale: defaultLocale)
        self.clock = clock
        self.workerID = workerID
        self.concurrency = concurrency
        self.batchSize = batchSize
        self.pollInterval = pollInterval
        self.lease = lease
        self.shutdownGrace = shutdownGrace
        self.listen = listen
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.exitWhenIdle = exitWhenIdle
    }
}
