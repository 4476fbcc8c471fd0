import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox

/// `herald prune`: delete finished messages older than an age, in small batches.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete finished messages (sent, failed, cancelled, expired, suppressed…) older than an age, with their attempts.",
        discussion: "Deletes in batches of --batch rows, each its own short transaction, skipping rows another session holds. Pending and sending messages are never touched. Each batch also deletes up to --batch applied delivery receipts older than the age, and up to --batch bounce and abuse reports older than the age and than 30 days. The daemon does the same on its own with [retention] keep.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .customLong("older-than"), help: "Age of the last change, e.g. 90d, 720h (default: [retention] keep).") var olderThan: String?
    @Option(help: "Rows per batch (default: [retention] batch).") var batch: Int?
    @Flag(name: .customLong("dry-run"), help: "Only count what would be deleted.") var dryRun = false

    func run() async throws {
        let config = try options.load()
        let keep: Duration
        if let olderThan {
            guard let parsed = DurationText.parse(olderThan), parsed > .zero else {
                throw fail("--older-than: not a duration such as 90d or 720h: \(olderThan)", code: 64)
            }
            keep = parsed
        } else if let configured = config.retention.keep {
            keep = configured
        } else {
            throw fail("say how old: --older-than 90d (or set [retention] keep in \(config.source))", code: 64)
        }
        let size = batch ?? config.retention.batch
        guard size > 0 else { throw fail("--batch must be positive", code: 64) }
        let store = Stores(connection: try await openConnection(config))
        do {
            if dryRun {
                print("would delete \(try await store.messages.prunable(keep: keep)) finished messages older than \(DurationText.format(keep))")
                return
            }
            let started = ContinuousClock.now
            var total = 0
            var batches = 0
            while true {
                let n = try await store.messages.pruneBatch(keep: keep, batchSize: size)
                total += n
                batches += 1
                if n < size { break }
            }
            print(String(format: "deleted %d finished messages older than %@ in %d batches (%.1f s)",
                         total, DurationText.format(keep), batches, (ContinuousClock.now - started).seconds))
        } catch {
            throw fail("prune failed: \(error)")
        }
    }
}
