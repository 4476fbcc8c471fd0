import HeraldCore
import Logging
import ServiceLifecycle

/// The WhatsApp fallback's timeout (`[channels.whatsapp] fallback_after`): a WhatsApp
/// message with `fallback = 'sms'` that was sent that long ago and has no delivered (or
/// read) receipt gets its one SMS (`herald.fall_back_overdue`). Failures need no service:
/// the database makes the SMS in the transaction that records them (`herald.message_fall_back`).
/// Looks every quarter of the timeout, at least every 15 seconds and at most every minute.
public final class FallbackService: Service, Sendable {
    let context: DaemonContext
    let link: DatabaseLink
    let after: Duration

    public init(context: DaemonContext, links: DatabaseLinks, after: Duration) {
        self.context = context
        self.link = links.main
        self.after = after
    }

    /// How often the overdue messages are looked for.
    var interval: Duration { min(max(after / 4, .seconds(15)), .seconds(60)) }

    public func run() async throws {
        let stop = StopFlag()
        await withGracefulShutdownHandler {
            guard await self.context.waitForStartup() else { return }
            repeat {
                do {
                    var made = 0
                    for _ in 0..<10 {
                        let n = try await self.link.withDatabase { try await $0.messages.fallBackOverdue(after: self.after, limit: 100) }
                        made += n
                        if n < 100 { break }
                    }
                    if made > 0 {
                        self.context.logger.notice("WhatsApp messages without a delivered receipt fell back to SMS",
                                                   metadata: ["count": "\(made)", "after": "\(DurationText.format(self.after))"])
                    }
                } catch {
                    self.context.logger.error("could not look for WhatsApp messages to fall back; trying again", metadata: ["error": "\(error)"])
                }
            } while await !stop.sleep(for: self.interval)
        } onGracefulShutdown: {
            stop.set()
        }
    }
}
