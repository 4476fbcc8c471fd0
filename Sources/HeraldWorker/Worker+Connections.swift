import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Logging

/// Connection supervision and notifications: every statement runs through ``Worker/withDatabase(on:retryOnLoss:_:)``,
/// which reconnects with backoff after a connection loss and gives up when a stop's grace
/// period is over.
extension Worker {
    /// The worker's two database connections.
    enum Link {
        /// Claims, leases, scheduling decisions, maintenance.
        case main
        /// Outcomes (``flushCompletions()``).
        case recorder
    }

    func connection(_ link: Link) -> PostgresConnection { link == .main ? main : recorder }

    /// Runs `operation` on a connection (the main one by default); on connection loss,
    /// reconnects with backoff (logging the outage once) and runs it again, or, with
    /// `retryOnLoss` false, reconnects and rethrows (the caller decides how to retry: a
    /// write whose commit may have happened must be replayed as such).
    func withDatabase<T: Sendable>(on link: Link = .main, retryOnLoss: Bool = true,
                                   _ operation: @Sendable (OutboxStore) async throws -> T) async throws -> T {
        let target = link == .main ? store : recorderStore
        while true {
            do {
                if !(await connection(link).isConnected) { try await reconnect(link) }
                return try await operation(target)
            } catch let error as PostgresError where error.isConnectionLoss {
                if hardStop { throw error }
                noteOutage(error)
                try await reconnect(link)
                if !retryOnLoss { throw error }
            }
        }
    }

    private func noteOutage(_ error: PostgresError) {
        guard outageSince == nil else { return }
        outageSince = .now
        logger.error("database connection lost; reconnecting with backoff", metadata: ["error": "\(error)"])
        notifier.status("database unreachable; reconnecting")
    }

    private func reconnect(_ link: Link) async throws {
        if let running = reconnecting[link] { return try await running.value }
        let task = Task { try await self.reconnectLoop(link) }
        reconnecting[link] = task
        defer { reconnecting[link] = nil }
        try await task.value
    }

    /// True when a stop was requested and waiting for the database no longer helps: nothing
    /// is in flight, or the grace period is over.
    private var givingUp: Bool {
        if hardStop { return true }
        guard stopRequested else { return false }
        return leases.isEmpty || (graceDeadline.map { ContinuousClock.now >= $0 } ?? false)
    }

    private func reconnectLoop(_ link: Link) async throws {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await connection(link).connect()
                if link == .main, ownsWorkerID, try await !store.lockWorkerID() {
                    // Another daemon with our id started while we were disconnected.
                    logger.critical("another herald took worker.id while the connection was down; stopping",
                                    metadata: ["worker": "\(settings.workerID)"])
                    requestStop()
                }
                if let since = outageSince {
                    logger.notice("database connection restored", metadata: ["outage_s": "\(DurationText.format((ContinuousClock.now - since)))"])
                    outageSince = nil
                }
                return
            } catch let error as PostgresError where error.isConnectionLoss {
                if givingUp { throw error }
                if outageSince == nil {
                    outageSince = .now
                    logger.error("cannot connect to the database; retrying with backoff", metadata: ["error": "\(error)"])
                }
                pingWatchdog()
                var pause = delay
                if let deadline = graceDeadline { pause = max(.milliseconds(10), min(pause, deadline - ContinuousClock.now)) }
                try? await Task.sleep(for: pause)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    // MARK: Notifications

    func listenLoop() async {
        var delay = Duration.milliseconds(250)
        var down = false
        while !stopRequested && !Task.isCancelled {
            do {
                if down {
                    try await connectListener()
                    down = false
                    delay = .milliseconds(250)
                    logger.notice("notification connection restored")
                    wake.signal()
                }
                let notes = try await listener.waitForNotifications(timeout: .seconds(30))
                if notes.contains(where: { $0.channel == "herald_template" || $0.channel == "herald_location" }) { templatesDirty = true }
                if !notes.isEmpty { dueMayHaveChanged(); wake.signal() }
            } catch {
                if stopRequested { return }
                if !down {
                    logger.warning("notification connection lost; polling until it is back", metadata: ["error": "\(error)"])
                    down = true
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }
}
