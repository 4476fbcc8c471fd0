import HeraldCore
import HeraldPostgres

/// Client replies in `herald.inbound`: read the unprocessed ones, then process each with
/// one statement that marks it, applies what it asked for, and ties free text to the last
/// message sent to that client.
extension InboundStore {
    /// An unprocessed reply.
    public struct InboundReply: Sendable, Equatable {
        public var id: Int64
        public var channel: String
        /// Normalised on insert (`herald.normalize_recipient`).
        public var from: String
        /// The reply's text, when it is short enough to be a keyword (``keywordLimit``
        /// characters); nil for a longer one, which can only be free text (a 10 MB body
        /// inserted by another system is never read into memory).
        public var body: String?
    }

    /// Longer replies are free text without being read.
    public static let keywordLimit = 64

    /// What processing a reply does.
    public enum InboundAction: String, Sendable {
        /// Record an opt-out (source `keyword`).
        case optOut = "opt_out"
        /// Lift an opt-out, whatever its source (the ledger says `keyword`).
        case optIn = "opt_in"
        /// Nothing to change (the keyword is recorded).
        case help
        /// Free text: tie it to the last message sent to that client.
        case reply
    }

    /// Up to `limit` unprocessed replies, oldest first (processing each is what takes its
    /// row lock, with `SKIP LOCKED`).
    public func unprocessedInbound(limit: Int) async throws -> [InboundReply] {
        let result = try await connection.query("""
            SELECT id, channel, from_address,
                   CASE WHEN length(body) <= $2 THEN body END AS body
              FROM herald.inbound
             WHERE processed_at IS NULL ORDER BY id LIMIT $1
            """, [limit, Self.keywordLimit])
        return result.named.compactMap { row in
            guard let id = row.int64("id") else { return nil }
            return InboundReply(id: id, channel: row["channel"] ?? "", from: row["from_address"] ?? "", body: row["body"])
        }
    }

    /// Processes one reply, once, in one transaction: marks it (only if still unprocessed,
    /// taking its lock with `SKIP LOCKED`, so two processors never both act on it), records
    /// or lifts the opt-out, ties free text to the last message sent to that client, and
    /// queues Herald's answer (`reply` template, in the locale and for the location of that
    /// last message) when one is given. Returns false when another processor got there first.
    ///
    /// The answer is a second statement so that it sees the opt-out change of the first:
    /// `reply.started` must not be suppressed by the opt-out it lifts, and `reply.stopped`
    /// is the one message allowed after a STOP (`consent_exempt`, which only that template
    /// may carry).
    public func processInbound(_ id: Int64, action: InboundAction, keyword: String?, reply: String? = nil) async throws -> Bool {
        try await connection.inTransaction {
            let result = try await connection.query("""
                WITH target AS (
                    SELECT id, channel, from_address FROM herald.inbound
                     WHERE id = $1 AND processed_at IS NULL FOR UPDATE SKIP LOCKED
                ), last AS (
                    -- SMS by the number as written (an E.164 number, its normal form); WhatsApp
                    -- by its key (a recipient may be written whatsapp:+…).
                    SELECT x.id, x.locale, x.location_id, x.time_zone FROM (
                        SELECT m.id, coalesce(m.locale, m.rendered_locale) AS locale, m.location_id, m.time_zone, m.sent_at
                          FROM herald.message m, target t
                         WHERE t.channel <> 'whatsapp' AND m.channel = t.channel AND m.status IN ('sent', 'delivered') AND m.recipient = t.from_address
                        UNION ALL
                        SELECT m.id, coalesce(m.locale, m.rendered_locale), m.location_id, m.time_zone, m.sent_at
                          FROM herald.message m, target t
                         WHERE t.channel = 'whatsapp' AND m.channel = 'whatsapp' AND m.status IN ('sent', 'delivered') AND m.recipient_key = t.from_address
                    ) x ORDER BY x.sent_at DESC NULLS LAST LIMIT 1
                ), mark AS (
                    UPDATE herald.inbound i
                       SET processed_at = now(), result = $2, keyword = $3,
                           in_reply_to = CASE WHEN $2 = 'reply' THEN (SELECT id FROM last) END
                      FROM target WHERE i.id = target.id
                    RETURNING i.id, i.channel, i.from_address
                ), opt_out AS (
                    INSERT INTO herald.opt_out (channel, recipient, reason, source)
                    SELECT channel, from_address, format('replied %s (inbound %s)', $3, id), 'keyword' FROM mark WHERE $2 = 'opt_out'
                    ON CONFLICT (channel, recipient) DO NOTHING
                ), opt_in AS (
                    DELETE FROM herald.opt_out o
                     USING mark, (SELECT set_config('herald.consent_source', 'keyword', true),
                                         set_config('herald.consent_reason', format('replied %s (inbound %s)', $3, $1), true)) AS ledger
                     WHERE $2 = 'opt_in' AND o.channel = mark.channel AND o.recipient = mark.from_address
                )
                SELECT mark.channel, mark.from_address, last.locale, last.location_id, last.time_zone
                  FROM mark LEFT JOIN last ON true
                """, [id, action.rawValue, keyword])
            guard let row = result.named.first else { return false }
            if let reply {
                try await connection.query("""
                    SELECT herald.queue_reply($1, $2, $3, $4, $5, $6,
                                              jsonb_build_object('keyword', $7::text, 'inbound_id', $8::bigint, 'location', '{}'::jsonb),
                                              'herald:reply:' || $8::text)
                    """, [row["channel"], row["from_address"], reply, row["locale"], row["location_id"], row["time_zone"], keyword, id])
            }
            return true
        }
    }

    /// Marks a reply that cannot be processed (a statement error that would recur), with
    /// the reason, so that it never blocks the ones after it.
    public func failInbound(_ id: Int64, reason: String) async throws {
        try await connection.query("""
            UPDATE herald.inbound SET processed_at = now(), result = left('failed: ' || $2, 2000)
             WHERE id = $1 AND processed_at IS NULL
            """, [id, reason])
    }
}
