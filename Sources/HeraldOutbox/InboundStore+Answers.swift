import Foundation
import HeraldPostgres

/// Clients' answers to reminders (migration 013): what the answer page shows, recording an
/// answer (a `herald.answer` row, a `confirmed`/`declined` event, `NOTIFY herald_answer`,
/// and on a decline the subject's pending reminders cancelled), and which reminder an SMS
/// reply answers.
extension InboundStore {
    /// What happened to an answer (`herald.record_answer`'s result).
    public enum AnswerResult: String, Sendable, Equatable {
        /// Recorded: a new row and event.
        case recorded
        /// The same answer was already the subject's latest: nothing new.
        case already
        /// The client declined before: a decline is final, a later confirm is refused.
        case declinedBefore = "declined_before"
        /// The subject was cancelled by the business.
        case cancelled
        /// The appointment has begun.
        case started
        /// No such message, or it has no subject.
        case unknown
    }

    /// Records `action` (`confirm` or `decline`) on the subject of message `messageID`, by
    /// `channel` (`link` or `sms`), from `from`; one transaction in the database.
    public func recordAnswer(messageID: Int64, action: String, channel: String, from: String) async throws -> (AnswerResult, answerID: Int64?) {
        let result = try await connection.query(
            "SELECT result, answer_id FROM herald.record_answer($1::bigint, $2, $3, $4)", [messageID, action, channel, from])
        guard let row = result.named.first, let outcome = row["result"].flatMap(AnswerResult.init(rawValue:)) else {
            return (.unknown, nil)
        }
        return (outcome, row.int64("answer_id"))
    }

    /// What the answer page of one message shows.
    public struct AnswerPageFacts: Sendable, Equatable {
        public var subjectType: String
        public var subjectID: String
        public var locationName: String?
        /// The subject's latest known start (a move after the reminder counts).
        public var startsAt: Date?
        /// The client's zone (the location's when it locks its zone); nil: the default.
        public var timeZone: String?
        /// The language the reminder was written in.
        public var locale: String?
        public var recipient: String
        /// The subject's latest answer: `confirm`, `decline`, or nil.
        public var lastAnswer: String?
        /// Whether the business cancelled it.
        public var cancelled: Bool
    }

    /// The facts for message `messageID`'s answer page; nil when it is gone or has no subject.
    public func answerPage(messageID: Int64) async throws -> AnswerPageFacts? {
        let result = try await connection.query("""
            SELECT subject_type, subject_id, location_name, extract(epoch FROM starts_at)::float8 AS starts_at,
                   time_zone, locale, recipient, last_answer, cancelled
              FROM herald.answer_page($1::bigint)
            """, [messageID])
        guard let row = result.named.first, let type = row["subject_type"], let id = row["subject_id"] else { return nil }
        return AnswerPageFacts(
            subjectType: type, subjectID: id, locationName: row["location_name"],
            startsAt: row.double("starts_at").flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil },
            timeZone: row["time_zone"], locale: row["locale"], recipient: row["recipient"] ?? "",
            lastAnswer: row["last_answer"], cancelled: row.bool("cancelled") == true)
    }

    /// The reminder an SMS reply from `from` answers: the most recent one sent to that
    /// number that asks for an answer and whose appointment has not started; none when
    /// `unlessOptedOut` and that number is opted out.
    public func answerableReminder(channel: String, from: String, unlessOptedOut: Bool = false) async throws -> Int64? {
        try await connection.query("SELECT herald.answerable_reminder($1, $2, $3)", [channel, from, unlessOptedOut]).scalar.flatMap { Int64($0) }
    }
}

extension InboundStore {
    /// Processes reply `inboundID` as an answer to reminder `reminderID`, once, in one
    /// transaction: the reply is marked (`result` `answer:<what happened>`, `in_reply_to`
    /// the reminder) only if still unprocessed, and the answer recorded. Nil when another
    /// processor got there first.
    public func processAnswerReply(_ inboundID: Int64, reminderID: Int64, action: String, keyword: String) async throws -> AnswerResult? {
        try await connection.inTransaction {
            let mark = try await connection.query("""
                UPDATE herald.inbound i SET processed_at = now(), result = 'answer', keyword = $2, in_reply_to = $3
                 WHERE i.id = (SELECT id FROM herald.inbound WHERE id = $1 AND processed_at IS NULL FOR UPDATE SKIP LOCKED)
                RETURNING i.from_address, i.channel
                """, [inboundID, keyword, reminderID])
            guard let from = mark.named.first?["from_address"] else { return nil }
            let channel = mark.named.first?["channel"] == "whatsapp" ? "whatsapp" : "sms"
            let (outcome, _) = try await recordAnswer(messageID: reminderID, action: action, channel: channel, from: from)
            try await connection.query("UPDATE herald.inbound SET result = $2 WHERE id = $1", [inboundID, "answer: " + outcome.rawValue])
            return outcome
        }
    }
}
