import HeraldCore
import HeraldPostgres

/// What the HTTP listener stores: client replies, delivery receipts, one-click
/// unsubscribes; and the secrets Herald keeps for itself.
extension InboundStore {
    /// Stores a client reply (the listener, before answering the provider). A provider's
    /// retry of the same message (same provider and id) is a no-op; returns false then.
    @discardableResult
    public func insertInbound(provider: String, providerID: String, channel: String = "sms",
                              from: String, to: String, body: String) async throws -> Bool {
        let result = try await connection.query("""
            INSERT INTO herald.inbound (provider, provider_id, channel, from_address, to_address, body)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (provider, provider_id) DO NOTHING
            RETURNING id
            """, [provider, providerID, channel, from, to, body])
        return !result.rows.isEmpty
    }

    /// What applying receipts did.
    public struct ReceiptReport: Sendable, Equatable {
        /// Receipts applied or settled (a message changed, or nothing to change).
        public var settled: Int
        /// Receipts whose message is not known yet (kept, tried again, unknown after an hour).
        public var waiting: Int
        /// Receipts given up on this time: no message with that id after an hour.
        public var unknown: Int

        public init(settled: Int, waiting: Int, unknown: Int) {
            self.settled = settled
            self.waiting = waiting
            self.unknown = unknown
        }
    }

    /// Stores one receipt and applies it at once when its message is known.
    public func recordReceipt(provider: String, providerMessageID: String, status: String, errorCode: String?) async throws -> ReceiptReport {
        let result = try await connection.query("""
            INSERT INTO herald.receipt (provider, provider_message_id, status, error_code)
            VALUES ($1, $2, $3, $4) RETURNING id
            """, [provider, providerMessageID, status, errorCode])
        guard let id = result.scalar.flatMap({ Int64($0) }) else { return ReceiptReport(settled: 0, waiting: 0, unknown: 0) }
        return try await applyReceipts(only: id)
    }

    /// Applies waiting receipts (one, or up to 100 of the oldest whose message is known, and
    /// up to 100 of those an hour old with none): a final status moves a
    /// `sent` message to `delivered` (with `delivered_at`) or `undelivered` (with the
    /// provider's error code in `last_error`); nothing moves a message back, so receipts
    /// may come twice and in any order. Receipts with no message after an hour are marked
    /// `unknown message`. Receipts whose message is known are looked for first: a pile of
    /// receipts for other systems' ids (a shared messaging service's callback) never hides
    /// one that arrived before its message's id was recorded.
    public func applyReceipts(only id: Int64? = nil) async throws -> ReceiptReport {
        let result = try await connection.query("""
            WITH known AS (
                SELECT id, provider_message_id, lower(status) AS status, error_code, received_at FROM herald.receipt x
                 WHERE applied_at IS NULL AND ($1::bigint IS NULL OR id = $1)
                   AND EXISTS (SELECT 1 FROM herald.message m WHERE m.provider_message_id = x.provider_message_id AND m.channel IN ('sms', 'whatsapp'))
                 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED
            ), stale AS (
                SELECT id, provider_message_id, lower(status) AS status, error_code, received_at FROM herald.receipt x
                 WHERE applied_at IS NULL AND ($1::bigint IS NULL OR id = $1) AND received_at < now() - interval '1 hour'
                   AND NOT EXISTS (SELECT 1 FROM herald.message m WHERE m.provider_message_id = x.provider_message_id AND m.channel IN ('sms', 'whatsapp'))
                 ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED
            ), r AS (
                SELECT * FROM known UNION ALL SELECT * FROM stale
            ), hit AS (
                SELECT DISTINCT ON (r.id) r.id AS rid, m.id AS mid, m.status AS mstatus, r.status AS rstatus, r.error_code
                  FROM r JOIN herald.message m ON m.provider_message_id = r.provider_message_id AND m.channel IN ('sms', 'whatsapp')
                 ORDER BY r.id, m.id DESC
            ), upd AS (
                UPDATE herald.message m
                   SET status = CASE WHEN hit.rstatus IN ('delivered', 'read') THEN 'delivered' ELSE 'undelivered' END,
                       delivered_at = CASE WHEN hit.rstatus IN ('delivered', 'read') THEN now() END,
                       last_error = CASE WHEN hit.rstatus IN ('delivered', 'read') THEN m.last_error
                                         ELSE format('%s by the carrier (provider error %s)', hit.rstatus, coalesce(hit.error_code, 'none')) END,
                       updated_at = now()
                  FROM hit
                 WHERE m.id = hit.mid AND m.status = 'sent' AND hit.rstatus IN ('delivered', 'read', 'undelivered', 'failed')
                RETURNING m.id
            ), landline AS (
                -- Twilio's 30006: a landline or an unreachable carrier. The number is not sent
                -- SMS for 90 days. One row per number: two receipts for one number in a
                -- batch must not make the upsert touch a row twice (which fails the batch).
                INSERT INTO herald.undeliverable (channel, recipient, reason, detail, message_id, until)
                SELECT DISTINCT ON (m.recipient_key) 'sms', m.recipient_key, 'landline',
                       'the carrier reported error 30006 (a landline or an unreachable carrier)', m.id, now() + interval '90 days'
                  FROM hit JOIN herald.message m ON m.id = hit.mid
                 WHERE hit.error_code = '30006' AND m.channel = 'sms' AND m.recipient_key IS NOT NULL
                 ORDER BY m.recipient_key, m.id DESC
                ON CONFLICT (channel, recipient) DO UPDATE
                   SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, message_id = EXCLUDED.message_id, created_at = now(), until = EXCLUDED.until
                 WHERE herald.undeliverable.until IS NOT NULL AND herald.undeliverable.until <= now()
            ), mark AS (
                UPDATE herald.receipt x
                   SET applied_at = now(),
                       result = CASE WHEN hit.mid IS NULL THEN 'unknown message'
                                     WHEN hit.mstatus = 'sent' AND hit.rstatus IN ('delivered', 'read') THEN 'delivered'
                                     WHEN hit.mstatus = 'sent' AND hit.rstatus IN ('undelivered', 'failed') THEN 'undelivered'
                                     ELSE format('ignored (message %s)', hit.mstatus) END
                  FROM r LEFT JOIN hit ON hit.rid = r.id
                 WHERE x.id = r.id AND (hit.mid IS NOT NULL OR r.received_at < now() - interval '1 hour')
                RETURNING x.result
            )
            SELECT (SELECT count(*) FROM mark WHERE result <> 'unknown message') AS settled,
                   (SELECT count(*) FROM herald.receipt WHERE applied_at IS NULL AND ($1::bigint IS NULL OR id = $1))
                       - (SELECT count(*) FROM mark) AS waiting,
                   (SELECT count(*) FROM mark WHERE result = 'unknown message') AS unknown,
                   (SELECT count(*) FROM upd) AS changed
            """, [id])
        let row = result.named.first
        func count(_ name: String) -> Int { row?[name].flatMap { Int($0) } ?? 0 }
        return ReceiptReport(settled: count("settled"), waiting: count("waiting"), unknown: count("unknown"))
    }

    /// Opts `recipient` out of `channel` through a one-click unsubscribe link of message
    /// `messageID`. Returns false when it was opted out already (the link was used twice).
    public func unsubscribe(channel: String, recipient: String, messageID: Int64) async throws -> Bool {
        let result = try await connection.query("""
            INSERT INTO herald.opt_out (channel, recipient, reason, source)
            VALUES ($1, $2, format('one-click unsubscribe link (message %s)', $3::bigint), 'unsubscribe')
            ON CONFLICT (channel, recipient) DO NOTHING
            RETURNING recipient
            """, [channel, recipient, messageID])
        return !result.rows.isEmpty
    }
}
