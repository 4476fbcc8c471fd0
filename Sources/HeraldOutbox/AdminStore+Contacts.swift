import Foundation
import HeraldCore
import HeraldPostgres

/// A client's page, opt-outs and opt-ins by an operator, replies waiting, a subject's feed.
extension AdminStore {
    /// A receipt from a provider.
    public struct ReceiptRow: Sendable, Equatable {
        public var status: String
        public var errorCode: String?
        public var result: String?
        public var receivedAt: Date
        public var messageID: Int64?
    }

    /// One change of consent, from the ledger.
    public struct ConsentRow: Sendable, Equatable {
        public var channel, recipient, action, source, recordedBy: String
        public var reason: String?
        public var at: Date
    }

    /// An opt-out in force.
    public struct OptOutRow: Sendable, Equatable {
        public var channel, recipient, source: String
        public var reason: String?
        public var since: Date
    }

    /// Everything the API shows of one client.
    public struct ContactPage: Sendable, Equatable {
        public var id: String
        public var name, email, phone, locale, timeZone: String?
        public var preference: String
        public var smsConsent, emailConsent: Bool?
        public var optOuts: [OptOutRow]
        public var ledger: [ConsentRow]
        public var messages: [MessageRow]
        public var receipts: [ReceiptRow]
        /// The client's last 20 free-text replies (to messages that were theirs).
        public var replies: [ReplyRow] = []
        /// Why they cannot be reached, per channel (`herald.unreachable`).
        public var unreachable: [UnreachableRow] = []
        /// The client opted in to WhatsApp (`whatsapp_consent`).
        public var whatsappConsent: Bool?
    }

    /// One reason a contact cannot be reached on a channel.
    public struct UnreachableRow: Sendable, Equatable {
        public var channel, reason, detail: String
        public var address: String?
        public var since: Date?
        public var messageID: Int64?
    }

    /// The rows of `herald.unreachable` for contact `id`, by channel.
    public func unreachable(contact id: String) async throws -> [UnreachableRow] {
        try await connection.query("""
            SELECT channel, address, reason, detail, extract(epoch FROM since)::float8 AS since, message_id
              FROM herald.unreachable WHERE contact_id = $1 ORDER BY channel, reason
            """, [id]).named.map { r in
            UnreachableRow(channel: r["channel"] ?? "", reason: r["reason"] ?? "", detail: r["detail"] ?? "", address: r["address"],
                           since: r.double("since").flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil }, messageID: r.int64("message_id"))
        }
    }

    static func date(_ r: NamedRow, _ name: String) -> Date { r.double(name).flatMap { $0.isFinite ? Date(timeIntervalSince1970: $0) : nil } ?? Date(timeIntervalSince1970: 0) }

    /// Contact `id` with its addresses' opt-outs and ledger (the last 200 changes), its last
    /// 50 messages and their receipts; nil when there is no such contact.
    public func contactPage(id: String) async throws -> ContactPage? {
        guard let c = try await connection.query("""
            SELECT id, name, email, phone, locale, time_zone, preference, sms_consent, email_consent, whatsapp_consent FROM herald.contact WHERE id = $1
            """, [id]).named.first else { return nil }
        // The contact's addresses, in their normal form, and those its messages went to.
        let addresses = """
            SELECT 'sms'::text AS channel, herald.normalize_recipient('sms', phone) AS recipient FROM herald.contact WHERE id = $1 AND phone IS NOT NULL
            UNION SELECT 'whatsapp', herald.normalize_recipient('whatsapp', phone) FROM herald.contact WHERE id = $1 AND phone IS NOT NULL
            UNION SELECT 'email', herald.normalize_recipient('email', email) FROM herald.contact WHERE id = $1 AND email IS NOT NULL
            UNION (SELECT DISTINCT channel, recipient_key FROM herald.message WHERE contact_id = $1 AND recipient_key IS NOT NULL LIMIT 20)
            """
        let optOuts = try await connection.query("""
            SELECT o.channel, o.recipient, o.source, o.reason, extract(epoch FROM o.created_at)::float8 AS since
              FROM herald.opt_out o JOIN (\(addresses)) a ON a.channel = o.channel AND a.recipient = o.recipient ORDER BY o.created_at
            """, [id]).named.map { r in
            OptOutRow(channel: r["channel"] ?? "", recipient: r["recipient"] ?? "", source: r["source"] ?? "", reason: r["reason"], since: Self.date(r, "since"))
        }
        let ledger = try await connection.query("""
            SELECT * FROM (
                SELECT e.channel, e.recipient, e.action, e.source, e.reason, e.recorded_by, e.id, extract(epoch FROM e.created_at)::float8 AS at
                  FROM herald.consent_event e JOIN (\(addresses)) a ON a.channel = e.channel AND a.recipient = e.recipient
                 ORDER BY e.id DESC LIMIT 200) l ORDER BY id
            """, [id]).named.map { r in
            ConsentRow(channel: r["channel"] ?? "", recipient: r["recipient"] ?? "", action: r["action"] ?? "", source: r["source"] ?? "",
                       recordedBy: r["recorded_by"] ?? "", reason: r["reason"], at: Self.date(r, "at"))
        }
        var filter = MessageFilter()
        filter.contact = id
        let messages = try await searchMessages(filter, limit: 50, before: nil)
        let receipts = try await connection.query("""
            SELECT m.id AS message_id, r.status, r.error_code, r.result, extract(epoch FROM r.received_at)::float8 AS received_at
              FROM (SELECT id, provider_message_id FROM herald.message WHERE contact_id = $1 AND provider_message_id IS NOT NULL
                     ORDER BY id DESC LIMIT 50) m
              JOIN herald.receipt r ON r.provider_message_id = m.provider_message_id
             ORDER BY r.id DESC LIMIT 100
            """, [id]).named.map(Self.decodeReceipt)
        let replies = try await connection.query("""
            SELECT \(Self.replyColumns) FROM herald.inbound i
             WHERE i.result = 'reply' AND i.in_reply_to IS NOT NULL
               AND i.in_reply_to = ANY (ARRAY(SELECT id FROM herald.message WHERE contact_id = $1 ORDER BY id DESC LIMIT 1000))
             ORDER BY i.id DESC LIMIT 20
            """, [id]).named.compactMap(Self.decodeReply)
        return ContactPage(id: c["id"] ?? id, name: c["name"], email: c["email"], phone: c["phone"], locale: c["locale"],
                           timeZone: c["time_zone"], preference: c["preference"] ?? "both", smsConsent: c.bool("sms_consent"),
                           emailConsent: c.bool("email_consent"), optOuts: optOuts, ledger: ledger, messages: messages, receipts: receipts,
                           replies: replies, unreachable: try await unreachable(contact: id), whatsappConsent: c.bool("whatsapp_consent"))
    }

    static func decodeReceipt(_ r: NamedRow) -> ReceiptRow {
        ReceiptRow(status: r["status"] ?? "", errorCode: r["error_code"], result: r["result"], receivedAt: date(r, "received_at"),
                   messageID: r.int64("message_id"))
    }

    /// A message's receipts, oldest first.
    public func receipts(messageID: Int64) async throws -> [ReceiptRow] {
        try await connection.query("""
            SELECT m.id AS message_id, r.status, r.error_code, r.result, extract(epoch FROM r.received_at)::float8 AS received_at
              FROM herald.message m JOIN herald.receipt r ON r.provider_message_id = m.provider_message_id
             WHERE m.id = $1 ORDER BY r.id
            """, [messageID]).named.map(Self.decodeReceipt)
    }

    /// A message's attempts, oldest first.
    public struct AttemptRow: Sendable, Equatable {
        public var number: Int
        public var driver: String?
        public var outcome: String
        public var responseCode, error: String?
        public var startedAt: Date
        public var finishedAt: Date?
    }

    public func attempts(messageID: Int64) async throws -> [AttemptRow] {
        try await connection.query("""
            SELECT number, driver, outcome, response_code, error, extract(epoch FROM started_at)::float8 AS started_at,
                   extract(epoch FROM finished_at)::float8 AS finished_at
              FROM herald.attempt WHERE message_id = $1 ORDER BY number, id
            """, [messageID]).named.map { r in
            AttemptRow(number: r.int("number") ?? 0, driver: r["driver"], outcome: r["outcome"] ?? "", responseCode: r["response_code"],
                       error: r["error"], startedAt: Self.date(r, "started_at"), finishedAt: r.epoch("finished_at"))
        }
    }

    /// Opts `recipient` out of `channel` (ledger source `operator`, the reason naming who);
    /// returns the normal form and whether anything changed.
    public func optOut(channel: String, recipient: String, reason: String, actor: String) async throws -> (recipient: String, changed: Bool) {
        try await asActor(actor) {
            let inserted = try await connection.query("""
                INSERT INTO herald.opt_out (channel, recipient, source, reason) VALUES ($1, $2, 'operator', $3)
                ON CONFLICT (channel, recipient) DO NOTHING
                """, [channel, recipient, "\(SafeText.clean(reason, limit: 500)) (by \(SafeText.clean(actor, limit: 200)))"])
            let key = try await connection.query("SELECT herald.normalize_recipient($1, $2)", [channel, recipient]).scalar ?? recipient
            return (key, inserted.affectedRows > 0)
        }
    }

    /// Lifts the opt-out of `recipient` on `channel` (ledger source `operator`).
    public func optIn(channel: String, recipient: String, reason: String, actor: String) async throws -> (recipient: String, changed: Bool) {
        try await asActor(actor) {
            try await connection.query("SELECT set_config('herald.consent_source', 'operator', true), set_config('herald.consent_reason', $1, true)",
                                       ["\(SafeText.clean(reason, limit: 500)) (by \(SafeText.clean(actor, limit: 200)))"])
            let deleted = try await connection.query(
                "DELETE FROM herald.opt_out WHERE channel = $1 AND recipient = herald.normalize_recipient($1, $2)", [channel, recipient])
            let key = try await connection.query("SELECT herald.normalize_recipient($1, $2)", [channel, recipient]).scalar ?? recipient
            return (key, deleted.affectedRows > 0)
        }
    }

    /// Why `recipient` may not receive on `channel` now (its opt-out), or nil.
    public func optOutReason(channel: String, recipient: String) async throws -> String? {
        try await connection.query("""
            SELECT coalesce(reason, source) FROM herald.opt_out WHERE channel = $1 AND recipient = herald.normalize_recipient($1, $2)
            """, [channel, recipient]).scalar
    }

    /// A free-text reply from a client.
    public struct ReplyRow: Sendable, Equatable {
        public var id: Int64
        public var channel, from, body: String
        public var receivedAt: Date
        public var inReplyTo: Int64?
        public var contactID: String?
        public var handledAt: Date?
        public var handledBy: String?
    }

    static let replyColumns = """
        i.id, i.channel, i.from_address, i.body, extract(epoch FROM i.received_at)::float8 AS received_at, i.in_reply_to,
        (SELECT contact_id FROM herald.message WHERE id = i.in_reply_to) AS contact_id,
        extract(epoch FROM i.handled_at)::float8 AS handled_at, i.handled_by
        """

    static func decodeReply(_ r: NamedRow) -> ReplyRow? {
        guard let id = r.int64("id") else { return nil }
        return ReplyRow(id: id, channel: r["channel"] ?? "", from: r["from_address"] ?? "", body: r["body"] ?? "",
                        receivedAt: date(r, "received_at"), inReplyTo: r.int64("in_reply_to"), contactID: r["contact_id"],
                        handledAt: r.epoch("handled_at"), handledBy: r["handled_by"])
    }

    /// Free-text replies, newest first, waiting (`handled` false) or handled.
    public func replies(handled: Bool, limit: Int, before: Int64?) async throws -> [ReplyRow] {
        try await connection.query("""
            SELECT \(Self.replyColumns) FROM herald.inbound i
             WHERE i.result = 'reply' AND (i.handled_at IS NOT NULL) = $1 AND ($2::bigint IS NULL OR i.id < $2)
             ORDER BY i.id DESC LIMIT $3
            """, [handled, before, min(max(limit, 1), 500)]).named.compactMap(Self.decodeReply)
    }

    /// Marks reply `id` handled by `actor` (once: the first time is kept); nil when there is no such reply.
    public func markHandled(replyID: Int64, actor: String) async throws -> ReplyRow? {
        try await connection.query("""
            UPDATE herald.inbound i SET handled_at = coalesce(handled_at, now()), handled_by = coalesce(handled_by, $2)
             WHERE id = $1 AND result = 'reply' RETURNING \(Self.replyColumns)
            """, [replyID, SafeText.clean(actor, limit: 200)]).named.first.flatMap(Self.decodeReply)
    }

    /// One entry of a subject's feed.
    public struct FeedEntry: Sendable, Equatable {
        public var kind: String
        public var id: Int64
        public var at: Date
        public var summary: String
        public var status: String?
    }

    /// Every event and message of a subject, oldest first (at most 1,000 of each).
    public func subjectFeed(type: String, id: String) async throws -> [FeedEntry] {
        let events = try await connection.query("""
            SELECT id, extract(epoch FROM created_at)::float8 AS at, type, status, state, error FROM herald.event
             WHERE subject_type = $1 AND subject_id = $2 ORDER BY id LIMIT 1000
            """, [type, id]).named.compactMap { r -> FeedEntry? in
            guard let eid = r.int64("id") else { return nil }
            var summary = "event \(r["type"] ?? "")" + (r["status"].map { " → \($0)" } ?? "")
            if let error = r["error"] { summary += ": \(error)" }
            return FeedEntry(kind: "event", id: eid, at: Self.date(r, "at"), summary: summary, status: r["state"])
        }
        let messages = try await connection.query("""
            SELECT message_id, extract(epoch FROM created_at)::float8 AS at, channel, recipient, template, status, last_error, fallback
              FROM herald.subject_feed WHERE subject_type = $1 AND subject_id = $2 ORDER BY message_id LIMIT 1000
            """, [type, id]).named.compactMap { r -> FeedEntry? in
            guard let mid = r.int64("message_id") else { return nil }
            var summary = "\(r["template"] ?? "") by \(r["channel"] ?? "") to \(r["recipient"] ?? "")"
            if let error = r["last_error"] { summary += ": \(error)" }
            if let fallback = r["fallback"] { summary += " (\(fallback))" }
            return FeedEntry(kind: "message", id: mid, at: Self.date(r, "at"), summary: summary, status: r["status"])
        }
        return (events + messages).sorted { ($0.at, $0.kind, $0.id) < ($1.at, $1.kind, $1.id) }
    }
}
