import Foundation
import HeraldCore
import HeraldPostgres

/// The outbox's messages and their leases: claiming, completing, deferring, the last look
/// before a driver, history and status. One of Herald's ``Stores``.
///
/// State changes of a claimed message happen only here, and every statement that finishes
/// a claim checks the lease (`locked_by = worker AND status = 'sending'`), so a worker whose
/// lease was taken over cannot overwrite the new owner's result.
public struct MessageStore: Sendable {
    public let connection: PostgresConnection
    /// The daemon's `worker.id`, for the statements that claim and hold leases; nil for
    /// everyone else (the CLI, the listener, a host's tools), who never claim.
    public let workerID: String?

    public init(connection: PostgresConnection, workerID: String? = nil) {
        self.connection = connection
        self.workerID = workerID
    }

    /// The worker id, for a statement that claims or holds a lease.
    var worker: String {
        get throws(StoreError) {
            guard let workerID else { throw StoreError.noWorkerID }
            return workerID
        }
    }

    // MARK: Claiming

    /// Why message `m` may not go to its recipient now, or NULL: its contact's preference or
    /// consent excludes the channel, its recipient (by its stored key) opted out or is
    /// undeliverable (a hard bounce, a landline: `herald.undeliverable`), the rule
    /// that made it was turned off (its re-planning had not cancelled it yet) or, for a
    /// WhatsApp message's SMS fallback, no longer falls back, or it is a
    /// recall and the client booked again since. The STOP
    /// confirmation (`consent_exempt`) is the one message an opt-out lets through. Used by
    /// the claim and by the check just before the driver is called. The contact's rule is
    /// `herald.contact_refusal` over its row, which the planner inlines (a function call per
    /// message was a third of a claim's cost for messages made from events).
    static func blockSQL(_ m: String) -> String {
        """
        coalesce(CASE WHEN \(m).contact_id IS NOT NULL THEN
                     (SELECT herald.contact_refusal(c, \(m).contact_id, \(m).channel, \(m).fallback_of IS NOT NULL)
                        FROM (SELECT) one LEFT JOIN herald.contact c ON c.id = \(m).contact_id) END,
                 CASE WHEN NOT \(m).consent_exempt THEN
                     (SELECT herald.opt_out_text(o) FROM herald.opt_out o
                       WHERE o.channel = \(m).channel
                         AND o.recipient = coalesce(\(m).recipient_key, herald.normalize_recipient(\(m).channel, \(m).recipient))) END,
                 CASE WHEN NOT \(m).consent_exempt THEN
                     (SELECT herald.undeliverable_text(u) FROM herald.undeliverable u
                       WHERE u.channel = \(m).channel AND u.recipient = \(m).recipient_key AND (u.until IS NULL OR u.until > now())) END,
                 CASE WHEN \(m).rule_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM herald.rule r WHERE r.name = \(m).rule_name AND r.enabled)
                     THEN format('rule %s was turned off or deleted', \(m).rule_name) END,
                 CASE WHEN \(m).fallback_of IS NOT NULL AND \(m).rule_name IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM herald.rule r WHERE r.name = \(m).rule_name AND r.fallback = 'sms')
                     THEN format('rule %s no longer falls back to SMS', \(m).rule_name) END,
                 CASE WHEN \(m).priority = 0 AND \(m).rule_name IS NOT NULL AND \(m).contact_id IS NOT NULL THEN
                     herald.recall_block(\(m).rule_name, \(m).contact_id, \(m).location_id, \(m).event_id, \(m).subject_id) END)
        """
    }

    /// The priority levels, highest first, as a relation `p(level)`: statements that read due
    /// rows read one range of `message_due_idx (priority, next_attempt_at, id)` per level, so
    /// their cost does not grow with the rows waiting at other levels or later.
    static let priorityLevels = "(VALUES (3::smallint), (2::smallint), (1::smallint), (0::smallint)) AS p(level)"

    /// The columns ``decodeMessage(_:_:)`` reads, by name (prefixed `m.`).
    static let messageColumns = """
        m.id, m.channel, m.recipient, m.template, m.locale, m.time_zone, m.data::text AS data, m.attempts, m.max_attempts,
        extract(epoch FROM m.send_at)::float8 AS send_at, extract(epoch FROM m.postpone)::float8 AS postpone,
        extract(epoch FROM m.event_at)::float8 AS event_at, extract(epoch FROM m.expires_at)::float8 AS expires_at,
        m.business_hours_only, m.location_id, m.urgent, extract(epoch FROM m.min_lead)::float8 AS min_lead, m.sender,
        m.subject_type, m.subject_id,
        CASE WHEN m.channel = 'whatsapp' THEN (SELECT extract(epoch FROM w.last_inbound_at + interval '24 hours')::float8
                                                 FROM herald.whatsapp_window w WHERE w.number = m.recipient_key) END AS whatsapp_window_until
        """

    /// A message from a row of a result that has ``messageColumns``, read by column name.
    static func decodeMessage(_ row: [String?], _ columns: RowDecoder) -> OutboxMessage? {
        decodeMessage(row, MessageColumns(columns))
    }

    /// The columns of ``messageColumns`` in one result, found once for all its rows.
    struct MessageColumns {
        let id, attempts, channel, recipient, template, locale, timeZone, data, maxAttempts, sendAt, postpone, eventAt,
            expiresAt, businessHoursOnly, locationID, urgent, minLead, sender, whatsappWindowUntil, subjectType, subjectID: ResultColumn

        init(_ d: RowDecoder) {
            (id, attempts, channel, recipient, template) = (d.column("id"), d.column("attempts"), d.column("channel"), d.column("recipient"), d.column("template"))
            (locale, timeZone, data, maxAttempts) = (d.column("locale"), d.column("time_zone"), d.column("data"), d.column("max_attempts"))
            (sendAt, postpone, eventAt, expiresAt) = (d.column("send_at"), d.column("postpone"), d.column("event_at"), d.column("expires_at"))
            (businessHoursOnly, locationID, urgent, minLead) = (d.column("business_hours_only"), d.column("location_id"), d.column("urgent"), d.column("min_lead"))
            (sender, whatsappWindowUntil) = (d.column("sender"), d.column("whatsapp_window_until"))
            (subjectType, subjectID) = (d.column("subject_type"), d.column("subject_id"))
        }
    }

    /// A message from a row, with its result's columns found once.
    static func decodeMessage(_ row: [String?], _ c: MessageColumns) -> OutboxMessage? {
        guard let id = c.id.int64(row), let attempt = c.attempts.int(row) else { return nil }
        // Timestamps may be `infinity`/`-infinity` (extract gives ±Infinity) or absurd: they
        // pass through as dates, and the scheduling rules fail the message naming the column,
        // except where the meaning is plain: `send_at = -infinity` is "now" and
        // `expires_at = infinity` is "never expires".
        func duration(_ column: ResultColumn) -> Duration? {
            guard let seconds = column.double(row) else { return nil }
            let limit = Duration.heraldMaximum.seconds + 1  // past the maximum: the rules say so
            return .milliseconds(Int64(clampingFloor: (min(max(seconds, -limit), limit) * 1000).rounded()))
        }
        var sendAt = c.sendAt.epoch(row) ?? Date(timeIntervalSince1970: 0)
        if sendAt.timeIntervalSince1970 == -.infinity { sendAt = Date(timeIntervalSince1970: 0) }
        var expiresAt = c.expiresAt.epoch(row)
        if expiresAt?.timeIntervalSince1970 == .infinity { expiresAt = nil }
        var message = OutboxMessage(
            id: id, channel: c.channel.text(row) ?? "", recipient: c.recipient.text(row) ?? "", template: c.template.text(row) ?? "",
            locale: c.locale.text(row), timeZone: c.timeZone.text(row), data: c.data.text(row) ?? "{}", attempt: attempt,
            maxAttempts: c.maxAttempts.int(row),
            schedule: .init(sendAt: sendAt, postpone: duration(c.postpone) ?? .zero,
                            eventAt: c.eventAt.epoch(row), expiresAt: expiresAt, businessHoursOnly: c.businessHoursOnly.bool(row) == true,
                            locationID: c.locationID.text(row), urgent: c.urgent.bool(row) == true, minimumLead: duration(c.minLead)))
        message.sender = c.sender.text(row)
        message.whatsappWindowUntil = c.whatsappWindowUntil.epoch(row)
        if let type = c.subjectType.text(row), let subjectID = c.subjectID.text(row) {
            message.subject = .init(type: type, id: subjectID)
        }
        return message
    }

    /// One message as the worker would claim it (for `herald explain`), without claiming it.
    public func message(id: Int64) async throws -> (message: OutboxMessage, status: MessageStatus)? {
        let result = try await connection.query(
            "SELECT \(Self.messageColumns), m.status FROM herald.message m WHERE m.id = $1::bigint", [id])
        let columns = RowDecoder(result)
        guard let row = result.rows.first, let message = Self.decodeMessage(row, columns),
              let status = columns.text(row, "status").flatMap(MessageStatus.init(rawValue:)) else { return nil }
        return (message, status)
    }

    // MARK: Retention

    /// Deletes one batch of finished messages older than `keep`; returns how many.
    public func pruneBatch(keep: Duration, batchSize: Int) async throws -> Int {
        let result = try await connection.query("SELECT herald.prune($1::float8 * interval '1 second', $2::int)",
                                                [keep.seconds, batchSize])
        return Int(result.scalar ?? "0") ?? 0
    }

    /// How many finished messages are older than `keep` (what a prune would delete).
    public func prunable(keep: Duration) async throws -> Int {
        let result = try await connection.query("SELECT herald.prunable($1::float8 * interval '1 second')", [keep.seconds])
        return Int(result.scalar ?? "0") ?? 0
    }

    // MARK: Opt-outs

    /// Records that `recipient` opted out of `channel` (its pending messages become `suppressed`).
    public func recordOptOut(channel: String, recipient: String, reason: String, source: String = "provider") async throws {
        try await connection.query("""
            INSERT INTO herald.opt_out (channel, recipient, reason, source) VALUES ($1, $2, $3, $4)
            ON CONFLICT (channel, recipient) DO NOTHING
            """, [channel, recipient, reason, source])
    }

    // MARK: Completing

    /// Why it is written this way (each measured with `deploy/bench`, see the README):
    /// - `m.status = (SELECT 'sending'::text)`: a value the planner cannot see, so that it
    ///   never satisfies the condition by scanning `message_lease_idx` (whose predicate is
    ///   `status = 'sending'`). That index holds an entry for every row completed since the
    ///   last vacuum; scanning it whole, as a hash join did, made each completion slower as a
    ///   drain went on (7 ms instead of 3 ms per 100 messages, one client). The rows are
    ///   found by their primary key instead.
    /// - The attempt rows of recorded outcomes come from the `UPDATE`'s `RETURNING`, not from
    ///   a join of the outcomes with it (a nested loop over the CTE: quadratic in the batch).
    ///   Only outcomes whose lease was lost are looked up (`NOT IN`, hashed).
    static let completeSQL = """
        WITH c AS (
            SELECT * FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::float8[], $7::float8[],
                                 $8::text[], $9::text[], $10::text[], $11::float8[],
                                 $12::text[], $13::text[], $14::text[], $15::text[], $16::int[], $17::int[])
                AS c(id, number, result, driver, started, finished, error, response_code, provider_id, retry_in,
                     r_locale, r_subject, r_body, r_html, r_segments, r_version)
        ), upd AS (
            UPDATE herald.message m
               SET status = CASE c.result WHEN 'sent' THEN 'sent' WHEN 'retry' THEN 'pending' ELSE 'failed' END,
                   last_error = CASE WHEN c.result = 'sent' THEN NULL ELSE c.error END,
                   provider_message_id = coalesce(c.provider_id, m.provider_message_id),
                   sent_at = CASE WHEN c.result = 'sent' THEN now() ELSE m.sent_at END,
                   next_attempt_at = CASE WHEN c.result = 'retry'
                                          THEN now() + c.retry_in * interval '1 second' ELSE m.next_attempt_at END,
                   rendered_locale = coalesce(c.r_locale, m.rendered_locale),
                   rendered_subject = coalesce(c.r_subject, m.rendered_subject),
                   rendered_body = coalesce(c.r_body, m.rendered_body),
                   rendered_html = coalesce(c.r_html, m.rendered_html),
                   sms_segments = coalesce(c.r_segments, m.sms_segments),
                   template_version = coalesce(c.r_version, m.template_version),
                   locked_by = NULL, locked_until = NULL, updated_at = now()
              FROM c
             WHERE m.id = c.id AND m.locked_by = $1 AND m.status = (SELECT 'sending'::text) AND m.attempts = c.number
            RETURNING m.id, c.number, c.started, c.finished, c.driver, c.result, c.error, c.response_code
        ), done AS (
            -- A replay after a lost connection: what the first try already committed.
            SELECT c.id FROM c
             WHERE $18::bool AND EXISTS (SELECT 1 FROM herald.attempt a
                                          WHERE a.message_id = c.id AND a.number = c.number AND a.worker = $1 AND a.outcome = c.result)
        ), att AS (
            INSERT INTO herald.attempt (message_id, number, started_at, finished_at, worker, driver, outcome, error, response_code)
            SELECT id, number, to_timestamp(started), to_timestamp(finished), $1, driver, result, error, response_code FROM upd
            UNION ALL
            SELECT c.id, c.number, to_timestamp(c.started), to_timestamp(c.finished), $1, c.driver, 'discarded',
                   format('lease lost before completion; result %s discarded%s', c.result, ': ' || c.error), c.response_code
              FROM c
             WHERE c.id NOT IN (SELECT id FROM upd) AND c.id NOT IN (SELECT id FROM done)
               AND EXISTS (SELECT 1 FROM herald.message x WHERE x.id = c.id)
        )
        SELECT id FROM upd UNION ALL SELECT id FROM done
        """

    /// Records attempts in one statement. Returns the ids whose lease was still
    /// ours (recorded); the others were taken over and are logged as discarded.
    ///
    /// `replay` is for writing the same outcomes again after the connection was lost
    /// during the first try, whose commit may have happened: outcomes already recorded
    /// (an attempt row of this worker, number and result) count as recorded and are not
    /// written twice.
    @discardableResult
    public func complete(_ completions: [Completion], replay: Bool = false) async throws -> Set<Int64> {
        guard !completions.isEmpty else { return [] }
        if replay {
            // The first try may still be running on the server (a client-side connection
            // loss does not stop it). Its row locks make this wait until it has committed or
            // rolled back, so that the replay's snapshot sees what it did.
            try await connection.query("SELECT 1 FROM herald.message WHERE id = ANY($1::bigint[]) FOR UPDATE",
                                       [PostgresArray(completions.map(\.messageID))])
        }
        let result = try await connection.query(Self.completeSQL, [
            worker,
            PostgresArray(completions.map(\.messageID)),
            PostgresArray(completions.map(\.attempt)),
            PostgresArray(completions.map(\.result.rawValue)),
            PostgresArray(completions.map(\.driver)),
            PostgresArray(completions.map { $0.startedAt.timeIntervalSince1970 }),
            PostgresArray(completions.map { $0.finishedAt.timeIntervalSince1970 }),
            PostgresArray(completions.map { $0.error.map { SafeText.clean($0) } }),
            PostgresArray(completions.map { $0.responseCode.map { SafeText.clean($0, limit: SafeText.identifierLimit) } }),
            PostgresArray(completions.map { $0.providerMessageID.map { SafeText.clean($0, limit: SafeText.identifierLimit) } }),
            PostgresArray(completions.map { $0.retryIn?.clamped(to: .heraldMaximum).seconds }),
            PostgresArray(completions.map { $0.rendered?.locale }),
            PostgresArray(completions.map { $0.rendered?.subject }),
            PostgresArray(completions.map { $0.rendered?.body }),
            PostgresArray(completions.map { $0.rendered?.html }),
            PostgresArray(completions.map { $0.rendered?.segments }),
            PostgresArray(completions.map { $0.rendered?.templateVersion }),
            replay,
        ])
        return Set(result.named.compactMap { $0.int64("id") })
    }

    // MARK: Scheduling the next wake-up

    /// Seconds until something may become claimable: the next pending message of these
    /// channels falls due, or a sender's next token comes (`herald.sender_pace.ready_at`).
    /// Only later instants count: the claim loop asks after a claim that found nothing, so
    /// what is due now waits for a token, or is another daemon's. Nil: nothing to wait for.
    public func secondsUntilNextDue(channels: [String]) async throws -> Double? {
        let result = try await connection.query("""
            SELECT (extract(epoch FROM least(
                        (SELECT min(n.next_attempt_at) FROM \(Self.priorityLevels) CROSS JOIN LATERAL (
                             SELECT next_attempt_at FROM herald.message
                              WHERE status = 'pending' AND priority = p.level AND channel = ANY($1::text[]) AND next_attempt_at > now()
                              ORDER BY next_attempt_at, id LIMIT 1) n),
                        (SELECT min(ready_at) FROM herald.sender_pace WHERE ready_at > now() AND channel = ANY($1::text[]))))
                    - extract(epoch FROM now()))::float8 AS seconds
            """, [PostgresArray(channels)])
        return result.named.first?["seconds"].flatMap { Double($0) }
    }

    /// Pending messages per channel, for the channels not in `configured`
    /// (startup warns: those wait until a driver is configured).
    public func waitingCounts(excluding configured: [String]) async throws -> [String: Int] {
        let result = try await connection.query("""
            SELECT channel, count(*) AS waiting FROM herald.message
             WHERE status = 'pending' AND channel <> ALL($1::text[]) AND channel = ANY($2::text[])
             GROUP BY channel
            """, [PostgresArray(configured), PostgresArray(Channel.allCases.map(\.rawValue))])
        var out: [String: Int] = [:]
        for row in result.named {
            if let channel = row["channel"], let n = row.int("waiting") { out[channel] = n }
        }
        return out
    }

    /// True while a message is being sent, or a pending one of these channels is due
    /// within `horizon` of `now` (for `--exit-when-idle`). Two `EXISTS`, each served by
    /// its partial index: one `OR` across both statuses scanned the whole table. The due
    /// check names every priority (`priority IN (0, 1, 2, 3)`) so that `message_due_idx`,
    /// whose first column is the priority, serves it as four ranges.
    public func hasUnfinishedWork(channels: [String], horizon: Duration, now: Date? = nil) async throws -> Bool {
        let result = try await connection.query(Self.unfinishedWorkSQL, [
            PostgresArray(channels), PostgresArray(Channel.allCases.map(\.rawValue)), horizon.seconds, now?.timeIntervalSince1970,
        ])
        return result.scalarBool
    }

    static let unfinishedWorkSQL = """
        SELECT EXISTS (SELECT 1 FROM herald.message WHERE status = 'sending')
            OR EXISTS (SELECT 1 FROM herald.event WHERE state = 'pending')
            OR EXISTS (SELECT 1 FROM herald.rule_edit WHERE state = 'pending')
            OR EXISTS (SELECT 1 FROM \(priorityLevels) CROSS JOIN LATERAL (
                           SELECT next_attempt_at FROM herald.message
                            WHERE status = 'pending' AND priority = p.level AND (channel = ANY($1::text[]) OR channel <> ALL($2::text[]))
                            ORDER BY next_attempt_at, id LIMIT 1) n
                        WHERE n.next_attempt_at <= coalesce(to_timestamp($4::float8), now()) + $3::float8 * interval '1 second')
        """

    // MARK: Enqueue and status

    /// Inserts one message; returns its id.
    public func enqueue(_ m: NewMessage) async throws -> Int64 {
        let s = m.schedule
        let result = try await connection.query("""
            INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone,
                                        event_at, expires_at, dedupe_key, max_attempts, location_id, business_hours_only,
                                        urgent, min_lead)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, coalesce(to_timestamp($7::float8), now()),
                    coalesce($8::float8, 0) * interval '1 second', to_timestamp($9::float8), to_timestamp($10::float8), $11, $12::int,
                    $13, $14::bool, $15::bool, $16::float8 * interval '1 second')
            RETURNING id
            """, [m.channel, m.recipient, m.template, m.locale, m.timeZone, m.data,
                  m.sendsNow ? nil : s.sendAt.timeIntervalSince1970, s.postpone.seconds, s.eventAt?.timeIntervalSince1970,
                  s.expiresAt?.timeIntervalSince1970, m.dedupeKey, m.maxAttempts, s.locationID, s.businessHoursOnly,
                  s.urgent, s.minimumLead?.seconds])
        guard let id = result.scalar.flatMap({ Int64($0) }) else {
            throw PostgresError(kind: .decoding, message: "INSERT returned no id")
        }
        return id
    }
}
