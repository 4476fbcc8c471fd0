import HeraldCore
import Logging
import ServiceLifecycle

/// Retention: deletes finished messages older than `[retention] keep`, once startup is done
/// and then every `[retention] interval`, one short batch at a time and at most 100 batches
/// a run, so that claiming never waits long behind it. A run that has begun completes
/// before the service stops, and the first run happens even when a stop comes early
/// (`--exit-when-idle`).
public final class MaintenanceService: Service, Sendable {
    let context: DaemonContext
    let link: DatabaseLink

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        self.link = links.main
    }

    public func run() async throws {
        guard let keep = context.settings.retention else { return }
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            guard await self.context.waitForStartup() else { return }
            repeat {
                do {
                    try await self.prune(keep: keep)
                } catch {
                    self.context.logger.error("retention failed; trying again next interval", metadata: ["error": "\(error)"])
                }
            } while await !stop.sleep(for: self.context.settings.pruneInterval)
        } onGracefulShutdown: {
            stop.set()
        }
    }

    private func prune(keep: Duration) async throws {
        let batch = context.settings.pruneBatch
        var deleted = 0
        for _ in 0..<100 {
            let n = try await link.withDatabase { try await $0.messages.pruneBatch(keep: keep, batchSize: batch) }
            deleted += n
            context.pingWatchdog()
            if n < batch { break }
        }
        if deleted > 0 {
            context.logger.notice("pruned finished messages", metadata: ["deleted": "\(deleted)", "older_than": "\(DurationText.format(keep))"])
        }
    }
}
