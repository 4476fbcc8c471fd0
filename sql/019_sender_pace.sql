-- Throughput where providers really limit it (issue 26): one rate limit per sender, fair
-- shares between locations, urgent first under limits.
--
-- A message's queue is (channel, sender, location). The claim walks the queues that have
-- pending messages (a loose scan of message_queue_idx), takes an equal share from each
-- queue with something due, highest priority first, and never more from a sender than the
-- sender's tokens. The tokens live here, one row per limited sender (and one per channel
-- ceiling, sender '*'), locked by the claim that spends them: every daemon sharing the
-- database sees and spends the same tokens.

-- The sender a limit applies to: the From number or messaging service of an SMS (NULL: the
-- channel's default sender, written ''), the domain of an email's sender, the sender as
-- written for any other channel.
CREATE FUNCTION herald.sender_key(p_channel text, p_sender text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_sender IS NULL THEN ''
                WHEN p_channel = 'email' THEN
                    lower(coalesce(substring(p_sender FROM '@([^@<>[:space:]]+)>?[[:space:]]*$'), p_sender))
                ELSE p_sender END
$$;
COMMENT ON FUNCTION herald.sender_key(text, text) IS
    'The key of a message''s sender for rate limits: SMS From or service SID ('''' for the channel''s own), email domain.';

CREATE INDEX message_queue_idx ON herald.message
    (channel, herald.sender_key(channel, sender), coalesce(location_id, ''), priority, next_attempt_at, id)
    WHERE status = 'pending';

-- A generic cell rate algorithm per sender: `tat` is the theoretical arrival time of the
-- sender's next message; a claim at time t may take floor((t + (burst-1)·step - max(tat, t)) / step) + 1
-- messages and moves tat on by step for each. `ready_at` is when the sender next has a
-- token (the claim loop sleeps until the earliest). A provider's 429 sets `paused_until`
-- and, for a minute after it, holds the sender to one message per pause (`learned_step`
-- seconds, until `learned_until`) whatever its configured rate.
CREATE TABLE herald.sender_pace (
    channel      text        NOT NULL,
    sender       text        NOT NULL,
    tat          timestamptz NOT NULL DEFAULT '-infinity',
    ready_at     timestamptz NOT NULL DEFAULT '-infinity',
    paused_until timestamptz,
    pause_reason text CHECK (length(pause_reason) <= 500),
    learned_step  float8 CHECK (learned_step > 0 AND learned_step <= 3600),
    learned_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, sender)
);
COMMENT ON TABLE herald.sender_pace IS
    'Rate-limit state per sender (sender ''*'': the channel ceiling), shared by every daemon: see docs/configuration.md.';
CREATE INDEX sender_pace_ready ON herald.sender_pace (ready_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON herald.sender_pace TO herald_daemon, herald_admin;
GRANT SELECT ON herald.sender_pace TO herald_host;
GRANT EXECUTE ON FUNCTION herald.sender_key(text, text) TO herald_daemon, herald_host, herald_admin;

-- Events in batches: the messages of many events' rules in one statement. The same checks
-- as herald.enqueue_for_rule, for every row before anything is inserted (the first bad row
-- raises the same error, naming it), then one INSERT … SELECT: the rule's template,
-- postpone, flags, priority, sender and the appointment's start come from the rule, the
-- event and its location. A row whose dedupe_key exists already is skipped. Returns each
-- inserted row's position in the arrays (1-based) and its id.
CREATE FUNCTION herald.enqueue_for_rules(
    p_event bigint[], p_rule text[], p_channel text[], p_recipient text[], p_locale text[], p_time_zone text[], p_data jsonb[],
    p_send_at timestamptz[], p_event_at timestamptz[], p_location_id text[], p_contact_id text[], p_sender text[], p_dedupe_key text[]
) RETURNS TABLE (ord bigint, id bigint) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    bad record;
BEGIN
    SELECT b.*, r.name AS rule_found, e.id AS event_found, r.enabled, r.subject_type AS rule_subject, e.subject_type AS event_subject,
           r.channels, r.recipient AS rule_recipient_kind, e.contact_id AS event_contact,
           herald.rule_recipient(r, e, b.channel) AS expected_recipient
      INTO bad
      FROM (SELECT * FROM unnest(p_event, p_rule, p_channel, p_recipient, p_locale, p_time_zone, p_data, p_send_at, p_contact_id, p_dedupe_key)
                 WITH ORDINALITY AS x(event_id, rule, channel, recipient, locale, time_zone, data, send_at, contact_id, dedupe_key, ord)) b
      LEFT JOIN herald.rule r ON r.name = b.rule LEFT JOIN herald.event e ON e.id = b.event_id
     WHERE r.name IS NULL OR e.id IS NULL OR NOT r.enabled OR r.subject_type <> e.subject_type OR NOT (b.channel = ANY (r.channels))
        OR (r.recipient = 'client' AND b.contact_id IS DISTINCT FROM e.contact_id) OR (r.recipient <> 'client' AND b.contact_id IS NOT NULL)
        OR b.recipient IS DISTINCT FROM herald.rule_recipient(r, e, b.channel)
     ORDER BY b.ord LIMIT 1;
    IF FOUND THEN
        IF bad.rule_found IS NULL OR bad.event_found IS NULL OR NOT bad.enabled OR bad.rule_subject <> bad.event_subject
           OR NOT (bad.channel = ANY (bad.channels)) THEN
            RAISE EXCEPTION 'herald.enqueue_for_rule: rule % does not apply to event % on channel %', bad.rule, bad.event_id, bad.channel;
        ELSIF (bad.rule_recipient_kind = 'client' AND bad.contact_id IS DISTINCT FROM bad.event_contact)
           OR (bad.rule_recipient_kind <> 'client' AND bad.contact_id IS NOT NULL) THEN
            RAISE EXCEPTION 'herald.enqueue_for_rule: contact % is not the % of event %', bad.contact_id, bad.rule_recipient_kind, bad.event_id;
        ELSE
            RAISE EXCEPTION 'herald.enqueue_for_rule: % is not the % address of event % on %', bad.recipient, bad.rule_recipient_kind,
                bad.event_id, bad.channel;
        END IF;
    END IF;
    RETURN QUERY
    WITH ins AS (
        INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, event_at,
                                    business_hours_only, urgent, location_id, subject_type, subject_id, contact_id, rule_name,
                                    sender, dedupe_key, priority, event_id, follows_contact)
        SELECT b.channel, b.recipient, r.template, b.locale, b.time_zone, coalesce(b.data, '{}'), coalesce(b.send_at, now()),
               r.postpone, herald.rule_event_at(r, e), r.business_hours_only, r.urgent,
               e.location_id, e.subject_type, e.subject_id, b.contact_id, r.name, herald.rule_sender(r, e, b.channel), b.dedupe_key,
               herald.rule_priority(r), e.id, b.contact_id IS NOT NULL AND b.channel IN ('sms', 'email')
          FROM (SELECT * FROM unnest(p_event, p_rule, p_channel, p_recipient, p_locale, p_time_zone, p_data, p_send_at, p_contact_id, p_dedupe_key)
                 WITH ORDINALITY AS x(event_id, rule, channel, recipient, locale, time_zone, data, send_at, contact_id, dedupe_key, ord)) b
          JOIN herald.rule r ON r.name = b.rule JOIN herald.event e ON e.id = b.event_id
         WHERE NOT EXISTS (SELECT 1 FROM herald.message m WHERE m.dedupe_key = b.dedupe_key)
         ORDER BY b.ord
        RETURNING herald.message.dedupe_key AS key, herald.message.id AS new_id
    )
    SELECT k.ord, ins.new_id FROM ins JOIN unnest(p_dedupe_key) WITH ORDINALITY AS k(key, ord) ON k.key = ins.key ORDER BY k.ord;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.enqueue_for_rules(bigint[], text[], text[], text[], text[], text[], jsonb[], timestamptz[],
                                                    timestamptz[], text[], text[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.enqueue_for_rules(bigint[], text[], text[], text[], text[], text[], jsonb[], timestamptz[],
                                                   timestamptz[], text[], text[], text[], text[]) TO herald_daemon, herald_admin;
