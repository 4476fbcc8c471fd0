import HeraldCore
import HeraldOutbox
import Logging

/// What the claim loop runs every `min(lease/2, 30s)`: retention and lease recovery.
extension Worker {
    /// Retention when due, then recovery of expired leases (never one this worker holds).
    func maintenance() async throws {
        if let keep = settings.retention, ContinuousClock.now >= nextPrune {
            nextPrune = ContinuousClock.now + settings.pruneInterval
            try await prune(keep: keep)
        }
        let holding = leases.ids
        let recovered = try await withDatabase {
            try await $0.recoverExpiredLeases(defaultMaxAttempts: self.settings.maxAttempts, holding: holding)
        }
        if !recovered.isEmpty { dueMayHaveChanged() }
        for row in recovered {
            logger.warning("lease expired; message taken over from a stopped worker", metadata: [
                "message": "\(row.id)", "previous_worker": "\(row.previousWorker)", "status": "\(row.status)",
            ])
        }
    }

    /// Deletes finished messages older than `keep`, one short batch at a time, at most
    /// 100 batches a run so that claiming never waits long behind it.
    private func prune(keep: Duration) async throws {
        var deleted = 0
        for _ in 0..<100 {
            let n = try await withDatabase { try await $0.pruneBatch(keep: keep, batchSize: self.settings.pruneBatch) }
            deleted += n
            pingWatchdog()
            if n < settings.pruneBatch { break }
        }
        if deleted > 0 {
            logger.notice("pruned finished messages", metadata: ["deleted": "\(deleted)", "older_than": "\(DurationText.format(keep))"])
        }
    }
}
