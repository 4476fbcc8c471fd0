import HeraldCore
import HeraldInbound
import HeraldOutbox
import HeraldPostgres
import Logging
import ServiceLifecycle

/// Processes client replies in `herald.inbound`, whoever inserted them (Herald's own
/// listener, another provider's webhook handler, a test): a STOP-type keyword records an
/// opt-out, a START-type keyword lifts one, HELP is noted, anything else is kept as a
/// reply tied to the last message sent to that client. Each row is processed once, even
/// with several daemons (the statement that marks it takes its lock with `SKIP LOCKED`).
///
/// Woken by `NOTIFY herald_inbound` (through the ``NotificationListener``) and at least
/// every poll interval; a crash loses nothing (rows stay unprocessed until one is done).
public final class InboundProcessor: Service, Sendable {
    let context: DaemonContext
    let link: DatabaseLink
    let replies: ReplySettings

    public init(context: DaemonContext, links: DatabaseLinks) {
        self.context = context
        // Its own connection: processing a reply is a transaction of two statements, and
        // another service's statement on the same connection would land inside it (and be
        // rolled back with it).
        self.link = links.inbound
        self.replies = context.settings.replies
    }

    public func run() async throws {
        await context.drainLoop(wake: context.inboundWake) { await self.processBatch() }
    }

    /// Processes up to 100 replies, and delivery receipts still waiting for their message;
    /// true when there may be more.
    func processBatch() async -> Bool {
        do {
            let replies = try await link.withDatabase { try await $0.inbound.unprocessedInbound(limit: 100) }
            for reply in replies { try await process(reply) }
            let receipts = try await link.withDatabase { try await $0.inbound.applyReceipts() }
            if receipts.unknown > 0 {
                context.logger.warning("delivery receipts for messages Herald never recorded; marked unknown", metadata: ["count": "\(receipts.unknown)"])
            }
            return replies.count == 100 || receipts.settled + receipts.unknown >= 100
        } catch {
            context.noteFailedRound("could not process client replies", error)
            return false
        }
    }

    private func process(_ reply: InboundStore.InboundReply) async throws {
        // SMS and WhatsApp replies carry keywords and answers, and get Herald's replies.
        let byPhone = Channel(rawValue: reply.channel)?.isPhone == true
        if let body = reply.body, byPhone, let answer = replies.keywords.answer(body) {
            do {
                if try await self.answer(reply, action: answer, word: ReplyKeywords.fold(body)) { return }
            } catch let error as PostgresError where !error.isTransient {
                try await fail(reply, error)
                return
            }
        }
        let meaning = reply.body.map(replies.keywords.classify) ?? .text
        let (action, keyword): (InboundStore.InboundAction, String?) = switch meaning {
        case .optOut(let word): (.optOut, word)
        case .optIn(let word): (.optIn, word)
        case .help(let word): (.help, word)
        case .text: (.reply, nil)
        }
        let processed: Bool
        do {
            let answer = byPhone ? replies.replyTemplate(for: meaning) : nil
            processed = try await link.withDatabase { try await $0.inbound.processInbound(reply.id, action: action, keyword: keyword, reply: answer) }
        } catch let error as PostgresError where !error.isTransient {
            try await fail(reply, error)
            return
        }
        guard processed else { return }
        context.metrics.inbound(result: action.rawValue)
        if action == .optOut { context.metrics.optOut(channel: reply.channel, source: "keyword") }
        context.logger.notice("client reply processed", metadata: [
            "inbound": "\(reply.id)", "channel": "\(reply.channel)", "result": "\(action.rawValue)",
            "keyword": "\(keyword ?? "-")",
        ])
    }

    /// A statement error that would recur: the reply is marked failed, with the reason, so it
    /// never blocks the ones after it.
    private func fail(_ reply: InboundStore.InboundReply, _ error: PostgresError) async throws {
        let reason = SafeText.clean(error.message + (error.sqlState.map { " (SQLSTATE \($0))" } ?? ""))
        try await link.withDatabase { try await $0.inbound.failInbound(reply.id, reason: reason) }
        context.metrics.inbound(result: "failed")
        context.logger.error("client reply could not be processed", metadata: ["inbound": "\(reply.id)", "error": "\(reason)"])
    }

    /// An answer word (`1`, `2`, `SI`, `NON`, …) answers the most recent reminder sent to
    /// that number that awaits one; false when none does (the reply then means what its
    /// keyword says: `2` is text for the business). `YES` from an opted-out number opts in.
    private func answer(_ reply: InboundStore.InboundReply, action: AnswerAction, word: String) async throws -> Bool {
        // A word that is also an opt-in (YES) from an opted-out number opts in, as Twilio does.
        let optIn = if case .optIn = replies.keywords.classify(word) { true } else { false }
        guard let reminder = try await link.withDatabase({
            try await $0.inbound.answerableReminder(channel: reply.channel, from: reply.from, unlessOptedOut: optIn)
        }) else {
            return false
        }
        let result = try await link.withDatabase {
            try await $0.inbound.processAnswerReply(reply.id, reminderID: reminder, action: action.rawValue, keyword: word)
        }
        guard let result else { return true }  // another processor took it
        context.metrics.inbound(result: "answer")
        context.logger.notice("client answered a reminder by SMS", metadata: [
            "inbound": "\(reply.id)", "message": "\(reminder)", "answer": "\(action.rawValue)", "result": "\(result.rawValue)",
        ])
        return true
    }
}
