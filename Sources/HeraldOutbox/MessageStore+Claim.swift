import Foundation
import HeraldCore
import HeraldPostgres

/// The rate limits a claim honours, as the claim statement's parameters: per sender (key
/// `*` for every sender of a channel without an entry of its own, `""` for the channel's
/// own sender) and per channel (the ceiling).
public struct ClaimLimits: Sendable, Equatable {
    var channels: [String] = []
    var keys: [String] = []
    var steps: [Double] = []
    var bursts: [Int] = []
    var ceilingChannels: [String] = []
    var ceilingSteps: [Double] = []
    var ceilingBursts: [Int] = []

    /// No limits.
    public init() {}

    /// The limits of each channel, by channel name.
    public init(_ limits: [String: SenderLimits]) {
        for (channel, limit) in limits.sorted(by: { $0.key < $1.key }) {
            func add(_ key: String, _ pace: Pace) {
                channels.append(channel); keys.append(key); steps.append(pace.step); bursts.append(pace.burst)
            }
            if let pace = limit.perSender { add("*", pace) }
            for (key, pace) in limit.senders.sorted(by: { $0.key < $1.key }) where key != "*" { add(key, pace) }
            if limit.senders[""] == nil, let own = limit.defaultSender, let pace = limit.senders[own] { add("", pace) }
            if let ceiling = limit.ceiling {
                ceilingChannels.append(channel); ceilingSteps.append(ceiling.step); ceilingBursts.append(ceiling.burst)
            }
        }
    }

    var parameters: [any PostgresEncodable] {
        [PostgresArray(channels), PostgresArray(keys), PostgresArray(steps), PostgresArray(bursts),
         PostgresArray(ceilingChannels), PostgresArray(ceilingSteps), PostgresArray(ceilingBursts)]
    }
}

extension MessageStore {
    /// The claim statement with literal parameters, for EXPLAIN in tests and by DBAs.
    public static var claimSQLForExplain: String {
        var text = claimSQL
        let values: [Int: String] = [
            1: "'explain'", 2: "'{sms,email}'", 3: "'{sms,email,webhook}'", 4: "10", 5: "60", 6: "NULL",
            7: "'{sms}'", 8: "'{*}'", 9: "'{1}'", 10: "'{1}'", 11: "'{}'", 12: "'{}'", 13: "'{}'",
        ]
        for (n, value) in values.sorted(by: { $0.key > $1.key }) { text = text.replacingOccurrences(of: "$\(n)", with: value) }
        return text
    }

    /// A message's queue: its channel, its sender's key and its location, as
    /// `message_queue_idx` has them (`alias` is the table's alias).
    static func queueColumns(_ alias: String) -> (channel: String, sender: String, location: String) {
        ("\(alias).channel", "herald.sender_key(\(alias).channel, \(alias).sender)", "coalesce(\(alias).location_id, '')")
    }

    /// Due messages of the queue `dq` at priority `p.level`, oldest first (`message_queue_idx`).
    static func queueRows(_ alias: String) -> String {
        let q = queueColumns(alias)
        return """
            \(alias).status = 'pending' AND \(q.channel) = dq.channel AND \(q.sender) = dq.skey AND \(q.location) = dq.lkey
                               AND \(alias).priority = p.level AND \(alias).next_attempt_at <= c.due_by
            """
    }

    /// Claims due messages: a fair share from each queue (channel, sender, location) with
    /// something due, highest priority first within each, never more from a sender than its
    /// tokens (nor from a channel than its ceiling's). One that may not go out now becomes
    /// `suppressed` with the reason instead, uncounted (the caller drops rows whose `status`
    /// is not `sending`; see ``blockSQL(_:)``).
    ///
    /// - `q` walks the queues with pending messages: one probe of `message_queue_idx` per
    ///   queue (a loose index scan), whatever the number of messages in each. Each probe
    ///   also returns where the queue's first pending message is (its lowest priority level
    ///   present, due time and id, in the index's order).
    /// - `pace` locks the rows of the senders (and ceilings) in play: claims spending one
    ///   sender's tokens take turns, across daemons. A sender seen for the first time gets
    ///   its row and no tokens in this claim: its tokens start 20 ms later, when the row can
    ///   be locked (two daemons meeting a new sender at once cannot both spend its burst).
    /// - Token arithmetic allows 1 ms of slack: epoch seconds in a double are only exact to
    ///   about a microsecond, and a slot computed a hair late would cost a whole claim round.
    /// - `dq` keeps the queues with a due message and tokens: the first pending message
    ///   found by `q` is due, or a probe of a higher priority level finds one. Each queue
    ///   gives at most `ceil(limit / queues)` messages.
    /// - `cand` reads each level from where `q` found the first pending message, not from
    ///   the level's start. Messages claimed since the last vacuum leave their entries in
    ///   the partial index (dead, skipped one by one); starting past them, a claim reads
    ///   that region once (in `q`) instead of three times, so its cost grows a third as
    ///   fast through a long drain (`ClaimDeadEntriesTests`). Rows before that point at that
    ///   level are, in the statement's snapshot, not pending: none is missed. A row that
    ///   another transaction moves earlier after the snapshot (a re-plan) is left to the next
    ///   claim, as a row made due after the snapshot always was.
    /// - `due` ranks what the queues gave, first of each queue first, and keeps what the
    ///   senders' and channels' tokens allow; `paced` spends them.
    static let claimSQL: String = {
        let q = queueColumns("message")
        let levels = priorityLevels
        return """
            WITH RECURSIVE q AS (
                (SELECT \(q.channel) AS channel, \(q.sender) AS skey, \(q.location) AS lkey, priority AS level, next_attempt_at AS at, id
                   FROM herald.message WHERE status = 'pending'
                  ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 1)
                UNION ALL
                SELECT n.* FROM q CROSS JOIN LATERAL (
                    SELECT \(q.channel) AS channel, \(q.sender) AS skey, \(q.location) AS lkey, priority AS level, next_attempt_at AS at, id
                      FROM herald.message
                     WHERE status = 'pending' AND (\(q.channel), \(q.sender), \(q.location)) > (q.channel, q.skey, q.lkey)
                     ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 1) n
            ), clock AS (
                SELECT extract(epoch FROM now())::float8 AS t, coalesce(to_timestamp($6::float8), now()) AS due_by
            ), served AS (
                SELECT q.channel, q.skey, q.lkey, q.level, q.at, q.id FROM q WHERE q.channel = ANY($2::text[]) OR q.channel <> ALL($3::text[])
            ), lim AS (
                SELECT * FROM unnest($7::text[], $8::text[], $9::float8[], $10::int[]) AS l(channel, skey, step, burst)
            ), pace AS (
                SELECT p.channel, p.sender, extract(epoch FROM p.tat)::float8 AS tat, extract(epoch FROM p.paused_until)::float8 AS paused,
                       p.learned_step, extract(epoch FROM p.learned_until)::float8 AS learned_until
                  FROM herald.sender_pace p
                 WHERE (p.channel, p.sender) IN (SELECT channel, skey FROM served UNION SELECT channel, '*' FROM served)
                 ORDER BY p.channel, p.sender
                   FOR UPDATE
            ), senders AS (
                SELECT s.channel, s.skey, e.step, e.burst, pc.tat, pc.paused, pc.channel IS NOT NULL AS known,
                       CASE WHEN pc.paused > c.t THEN 0
                            WHEN e.step IS NULL THEN $4::int
                            WHEN pc.channel IS NULL THEN 0
                            ELSE greatest(0, least(e.burst, floor((c.t + (e.burst - 1) * e.step - greatest(pc.tat, c.t) + 0.001) / e.step) + 1))::int END AS tokens
                  FROM (SELECT DISTINCT channel, skey FROM served) s CROSS JOIN clock c
                  LEFT JOIN LATERAL (SELECT lim.step, lim.burst FROM lim WHERE lim.channel = s.channel AND lim.skey IN (s.skey, '*')
                                      ORDER BY lim.skey = '*' LIMIT 1) l ON true
                  LEFT JOIN pace pc ON pc.channel = s.channel AND pc.sender = s.skey
                 CROSS JOIN LATERAL (SELECT CASE WHEN pc.learned_until > c.t THEN greatest(l.step, pc.learned_step) ELSE l.step END AS step,
                                            CASE WHEN pc.learned_until > c.t THEN 1 ELSE l.burst END AS burst) e
            ), ceilings AS (
                SELECT x.channel, x.step, x.burst, pc.tat, pc.channel IS NOT NULL AS known,
                       CASE WHEN pc.channel IS NULL THEN 0
                            ELSE greatest(0, least(x.burst, floor((c.t + (x.burst - 1) * x.step - greatest(pc.tat, c.t) + 0.001) / x.step) + 1))::int END AS tokens
                  FROM unnest($11::text[], $12::float8[], $13::int[]) AS x(channel, step, burst) CROSS JOIN clock c
                  LEFT JOIN pace pc ON pc.channel = x.channel AND pc.sender = '*'
            ), dq AS (
                SELECT s.channel, s.skey, s.lkey, s.level, s.at, s.id, least(sn.tokens, coalesce(ce.tokens, $4::int)) AS tokens
                  FROM served s JOIN senders sn USING (channel, skey) LEFT JOIN ceilings ce USING (channel) CROSS JOIN clock c
                 WHERE sn.tokens > 0 AND coalesce(ce.tokens, 1) > 0
                   AND (s.at <= c.due_by
                        OR EXISTS (SELECT 1 FROM \(levels) WHERE p.level > s.level AND EXISTS (
                                       SELECT 1 FROM herald.message m, (SELECT s.channel, s.skey, s.lkey) dq WHERE \(queueRows("m")))))
            ), share AS (
                SELECT ceil($4::float8 / greatest(1, count(*)))::int AS n FROM dq
            ), cand AS (
                SELECT x.id, x.priority, x.next_attempt_at, x.blocked, dq.channel, dq.skey, dq.lkey, dq.tokens AS queue_tokens,
                       row_number() OVER (PARTITION BY dq.channel, dq.skey, dq.lkey ORDER BY x.priority DESC, x.next_attempt_at, x.id) AS rn
                  FROM dq CROSS JOIN share CROSS JOIN clock c CROSS JOIN LATERAL (
                    SELECT d.* FROM \(levels) CROSS JOIN LATERAL (
                        SELECT m.id, m.priority, m.next_attempt_at, \(blockSQL("m")) AS blocked
                          FROM herald.message m
                         WHERE \(queueRows("m"))
                           AND (m.next_attempt_at, m.id) >= (CASE WHEN p.level = dq.level THEN dq.at ELSE '-infinity' END,
                                                             CASE WHEN p.level = dq.level THEN dq.id ELSE '-9223372036854775808'::bigint END)
                         ORDER BY m.next_attempt_at, m.id
                         LIMIT least(dq.tokens, share.n)
                           FOR UPDATE SKIP LOCKED) d
                     WHERE p.level >= dq.level
                     LIMIT least(dq.tokens, share.n)) x
            ), ranked AS (
                SELECT cand.*,
                       row_number() OVER (PARTITION BY channel, skey, blocked IS NULL ORDER BY rn, priority DESC, next_attempt_at, id) AS by_sender,
                       row_number() OVER (PARTITION BY channel, blocked IS NULL ORDER BY rn, priority DESC, next_attempt_at, id) AS by_channel
                  FROM cand
            ), due AS (
                SELECT r.id, r.blocked, r.channel, r.skey
                  FROM ranked r JOIN senders sn USING (channel, skey) LEFT JOIN ceilings ce USING (channel)
                 WHERE r.blocked IS NOT NULL OR (r.by_sender <= sn.tokens AND r.by_channel <= coalesce(ce.tokens, $4::int))
                 ORDER BY r.rn, r.priority DESC, r.next_attempt_at, r.id
                 LIMIT $4
            ), more AS (
                SELECT coalesce(bool_or(g.n >= share.n AND g.queue_tokens > share.n), false) AS v
                  FROM (SELECT count(*) AS n, min(queue_tokens) AS queue_tokens FROM cand GROUP BY channel, skey, lkey) g CROSS JOIN share
            ), taken AS (
                SELECT channel, skey, count(*) AS n FROM due WHERE blocked IS NULL GROUP BY channel, skey
            ), paced AS (
                INSERT INTO herald.sender_pace AS p (channel, sender, tat, ready_at, updated_at)
                SELECT sn.channel, sn.skey, to_timestamp(tt.tat),
                       to_timestamp(greatest(tt.tat - (sn.burst - 1) * sn.step, coalesce(sn.paused, '-infinity'::float8))), now()
                  FROM senders sn CROSS JOIN clock c LEFT JOIN taken t USING (channel, skey)
                 CROSS JOIN LATERAL (SELECT CASE WHEN sn.known THEN greatest(sn.tat, c.t) + coalesce(t.n, 0) * sn.step ELSE c.t + 0.02 END AS tat) tt
                 WHERE sn.step IS NOT NULL AND (t.n > 0 OR NOT sn.known)
                UNION ALL
                SELECT ce.channel, '*', to_timestamp(tt.tat), to_timestamp(tt.tat - (ce.burst - 1) * ce.step), now()
                  FROM ceilings ce CROSS JOIN clock c LEFT JOIN (SELECT channel, sum(n) AS n FROM taken GROUP BY channel) t USING (channel)
                 CROSS JOIN LATERAL (SELECT CASE WHEN ce.known THEN greatest(ce.tat, c.t) + coalesce(t.n, 0) * ce.step ELSE c.t + 0.02 END AS tat) tt
                 WHERE t.n > 0 OR NOT ce.known
                ON CONFLICT (channel, sender) DO UPDATE SET tat = excluded.tat, ready_at = excluded.ready_at, updated_at = excluded.updated_at
            )
            UPDATE herald.message m
               SET status = CASE WHEN due.blocked IS NULL THEN 'sending' ELSE 'suppressed' END,
                   attempts = m.attempts + CASE WHEN due.blocked IS NULL THEN 1 ELSE 0 END,
                   locked_by = CASE WHEN due.blocked IS NULL THEN $1 END,
                   claimed_at = CASE WHEN due.blocked IS NULL THEN now() ELSE m.claimed_at END,
                   locked_until = CASE WHEN due.blocked IS NULL THEN now() + $5::float8 * interval '1 second' END,
                   last_error = coalesce(due.blocked, m.last_error),
                   updated_at = now()
              FROM due
             WHERE m.id = due.id
            RETURNING \(messageColumns), m.status, (SELECT v FROM more) AS more
            """
    }()

    /// Claims up to `limit` due messages of the given channels (plus any of an unknown
    /// channel, so they can fail with a reason) within `limits`, and leases them. `now`
    /// replaces the database clock for "is it due" (an injected clock in tests; rate limits
    /// always run on the database's clock); nil uses `now()`.
    public func claim(channels: [String], limit: Int, lease: Duration, limits: ClaimLimits = ClaimLimits(),
                      now: Date? = nil) async throws -> [OutboxMessage] {
        try await claimBatch(channels: channels, limit: limit, lease: lease, limits: limits, now: now).messages
    }

    /// What one claim took, and whether more may be claimable at once: a queue gave its
    /// full share while its sender had tokens left (a claim short of `limit` is otherwise
    /// the end of what is due now).
    public struct ClaimBatch: Sendable {
        public var messages: [OutboxMessage]
        public var mayHaveMore: Bool
        /// How long the claim statement took, when it took at least the `replanAfter` of
        /// ``MessageStore/claimBatch(channels:limit:lease:limits:now:replanAfter:)``: its
        /// prepared plan was then dropped, and the next claim is planned afresh.
        public var replannedAfter: Duration?
    }

    /// A claim slower than this has its plan made again (``ClaimBatch/replannedAfter``). A
    /// claim takes milliseconds; the plan cached while the outbox was nearly empty took
    /// 2.2-2.6 s a claim on 50,000 rows loaded after it (until the next analyse), 8 ms once
    /// prepared again. Planning costs about 8 ms, so a claim that is slow for another reason
    /// loses under 1% to it.
    public static let replanClaimAfter = Duration.seconds(1)

    /// ``claim(channels:limit:lease:limits:now:)`` with whether more may be claimable now.
    /// A claim that took `replanAfter` or longer (or ran into the statement timeout) drops
    /// its prepared plan, so that the next one is planned from the table as it is now.
    public func claimBatch(channels: [String], limit: Int, lease: Duration, limits: ClaimLimits = ClaimLimits(),
                           now: Date? = nil, replanAfter: Duration = replanClaimAfter) async throws -> ClaimBatch {
        let known = Channel.allCases.map(\.rawValue)
        let (result, took): (PostgresResult, Duration)
        do {
            // Timed on the server's side: waiting behind another statement of this connection
            // is not the claim's plan being slow.
            (result, took) = try await connection.timedQuery(Self.claimSQL, [
                worker, PostgresArray(channels), PostgresArray(known), limit, lease.seconds, now?.timeIntervalSince1970,
            ] + limits.parameters)
        } catch let error as PostgresError where error.sqlState == "57014" {
            await connection.forget(Self.claimSQL)  // canceled by statement_timeout: likely the same stale plan
            throw error
        }
        let replanned = took >= replanAfter ? took : nil
        if replanned != nil { await connection.forget(Self.claimSQL) }
        let columns = RowDecoder(result)
        let (status, message) = (columns.column("status"), MessageColumns(columns))
        let messages = result.rows.compactMap { row in
            status.text(row) == MessageStatus.sending.rawValue ? Self.decodeMessage(row, message) : nil
        }
        let more = result.rows.first.map { columns.bool($0, "more") == true } ?? false
        return ClaimBatch(messages: messages, mayHaveMore: more || result.rows.count >= limit, replannedAfter: replanned)
    }

    /// Holds back the sender of message `id` for `pause` (a provider answered 429 "too
    /// many requests"): no claim takes its messages until then, and for a minute after it
    /// the sender sends at most one message per `pause`, whatever its configured rate.
    /// Other senders go on.
    public func pauseSender(ofMessage id: Int64, for pause: Duration, reason: String) async throws {
        try await connection.query("""
            INSERT INTO herald.sender_pace AS p (channel, sender, tat, paused_until, pause_reason, ready_at, learned_step, learned_until)
            SELECT m.channel, herald.sender_key(m.channel, m.sender), now() + $2::float8 * interval '1 second',
                   now() + $2::float8 * interval '1 second', $3, now() + $2::float8 * interval '1 second',
                   $2::float8, now() + ($2::float8 + 60) * interval '1 second'
              FROM herald.message m WHERE m.id = $1::bigint
            ON CONFLICT (channel, sender) DO UPDATE
               SET paused_until = greatest(coalesce(p.paused_until, '-infinity'), excluded.paused_until),
                   tat = greatest(p.tat, excluded.tat),
                   pause_reason = excluded.pause_reason,
                   learned_step = CASE WHEN p.learned_until > now() THEN greatest(p.learned_step, excluded.learned_step)
                                       ELSE excluded.learned_step END,
                   learned_until = greatest(coalesce(p.learned_until, '-infinity'), excluded.learned_until),
                   ready_at = greatest(p.ready_at, excluded.ready_at), updated_at = now()
            """, [id, pause.seconds, SafeText.clean(reason, limit: 500)])
    }
}
