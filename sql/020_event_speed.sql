-- Events as fast as messages (issue 26): the per-row work of a batch's insert, measured
-- with pg_stat_statements on 9,000 messages made from 3,000 events, was mostly the cost
-- of how three helpers were called, not of what they do:
--
-- * herald.rule_event_at, an SQL function calling another SQL function, planned the inner
--   one again for every row (0.28 ms a message): it is now PL/pgSQL, whose plans last.
-- * herald.cancel_recalls, an SQL function called once per event, was planned on every
--   call (0.5 ms an event, with no recall rule at all): it is now PL/pgSQL, returns at once
--   when no rule is a recall, and herald.cancel_recalls_many does a batch's events at once.
-- * message_before_insert looked twice for a message with the same dedupe_key (one update
--   for a pending one, one for one being sent), and after the statistics of an outbox of
--   keyless messages or of an empty one, through the pending rows (up to 1.1 ms a message
--   at 60,000 pending): now once, by the key's unique index.
-- * herald.contact_block, asked for every message inserted, claimed and looked at again
--   before sending, was planned again by every statement calling it: PL/pgSQL too.

CREATE OR REPLACE FUNCTION herald.rule_event_at(r herald.rule, e herald.event) RETURNS timestamptz LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, herald AS $$
DECLARE
    at timestamptz := herald.event_starts_at(e);
BEGIN
    RETURN CASE WHEN r.send_after IS NULL AND isfinite(at) THEN at END;
END
$$;

CREATE OR REPLACE FUNCTION herald.message_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.recipient_key := herald.normalize_recipient(NEW.channel, NEW.recipient);
    NEW.next_attempt_at := coalesce(NEW.next_attempt_at, NEW.send_at + NEW.postpone);
    IF NOT isfinite(NEW.next_attempt_at) THEN
        NEW.next_attempt_at := now();
    END IF;
    NEW.status := coalesce(NEW.status, 'pending');
    IF NEW.urgent THEN
        NEW.priority := 3;
    END IF;
    IF NEW.dedupe_key IS NOT NULL THEN
        -- A pending version is cancelled; one being sent finishes as it was. Either way
        -- the key is freed for the new message. Found by the key's unique index alone,
        -- whatever the statistics (see the function's settings below): planned while the
        -- outbox was empty, or while its statistics said keys are rare, the lookup read
        -- every pending row (a scan, or the pending and sending indexes) for every row
        -- inserted: 1.1 ms a message at 60,000 pending.
        UPDATE herald.message m
           SET status = CASE m.status WHEN 'pending' THEN 'cancelled' ELSE m.status END,
               last_error = CASE m.status
                   WHEN 'pending' THEN format('superseded by message %s (dedupe_key %L)', NEW.id, m.dedupe_key)
                   ELSE format('superseded by message %s (dedupe_key %L) while being sent; this version finishes as it was',
                               NEW.id, m.dedupe_key) END,
               dedupe_key = NULL,
               updated_at = now()
         WHERE m.id = (SELECT d.id FROM herald.message d WHERE d.dedupe_key = NEW.dedupe_key)
           AND m.dedupe_key = NEW.dedupe_key AND m.status IN ('pending', 'sending');
    END IF;
    RETURN NEW;
END $$;
ALTER FUNCTION herald.message_before_insert() SECURITY DEFINER SET search_path = pg_catalog, herald
    SET enable_seqscan = off SET enable_bitmapscan = off;

CREATE OR REPLACE FUNCTION herald.cancel_recalls(p_event bigint, p_reason text) RETURNS SETOF bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    RETURN QUERY SELECT c.id FROM herald.cancel_recalls_many(ARRAY[p_event], ARRAY[p_reason]) c;
END
$$;

-- 5. Recall, for a batch of events: the pending recalls of each event's contact (at the
--    event's location) planned before it are cancelled with that event's reason. Returns
--    (event, message) pairs. Nothing to look at while no rule is a recall.
CREATE FUNCTION herald.cancel_recalls_many(p_events bigint[], p_reasons text[]) RETURNS TABLE (event_id bigint, id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM herald.rule WHERE recall) THEN
        RETURN;
    END IF;
    RETURN QUERY
    UPDATE herald.message m
       SET status = 'cancelled', dedupe_key = NULL, updated_at = now(), last_error = left(x.reason, 2000)
      FROM unnest(p_events, p_reasons) AS x(event_id, reason) JOIN herald.event e ON e.id = x.event_id
     WHERE e.contact_id IS NOT NULL AND m.contact_id = e.contact_id AND m.status = 'pending' AND m.follows_contact
       AND m.location_id IS NOT DISTINCT FROM e.location_id AND m.event_id < e.id
       AND m.rule_name IN (SELECT name FROM herald.rule WHERE recall)
    RETURNING e.id, m.id;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.cancel_recalls_many(bigint[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.cancel_recalls_many(bigint[], text[]) TO herald_daemon, herald_admin;

-- Why a contact's message may not go on a channel (NULL: it may); as in 011, in PL/pgSQL.
CREATE OR REPLACE FUNCTION herald.contact_block(p_contact text, p_channel text) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    IF p_channel NOT IN ('sms', 'email') THEN
        RETURN NULL;
    END IF;
    SELECT id, preference, sms_consent, email_consent INTO c FROM herald.contact WHERE id = p_contact;
    RETURN CASE
        WHEN c.id IS NULL THEN format('contact %s does not exist', p_contact)
        WHEN c.preference = 'none' THEN format('contact %s wants no messages (preference none)', c.id)
        WHEN c.preference NOT IN (p_channel, 'both') THEN format('contact %s prefers %s, not %s', c.id, c.preference, p_channel)
        WHEN p_channel = 'sms' AND c.sms_consent IS FALSE THEN format('contact %s has not consented to sms', c.id)
        WHEN p_channel = 'email' AND c.email_consent IS FALSE THEN format('contact %s has not consented to email', c.id)
    END;
END
$$;
