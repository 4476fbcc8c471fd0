-- What comes back from providers and links: delivery receipts, one-click unsubscribe,
-- and Herald's own replies to STOP/START/HELP.

-- Delivery receipts find their message by the provider's id.
CREATE INDEX message_provider_id_idx ON herald.message (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- The one message allowed after an opt-out: Herald's confirmation of a STOP reply. Only the
-- daemon writes this column (the host's INSERT grant does not include it), and only the
-- reply.stopped template may carry it, so the exemption cannot cover anything else.
ALTER TABLE herald.message ADD COLUMN consent_exempt boolean NOT NULL DEFAULT false;
ALTER TABLE herald.message ADD CONSTRAINT message_consent_exempt_stop_reply_only
    CHECK (NOT consent_exempt OR template = 'reply.stopped');
COMMENT ON COLUMN herald.message.consent_exempt IS
    'True only on the confirmation of a STOP reply (template reply.stopped): sent although the recipient just opted out.';

CREATE OR REPLACE FUNCTION herald.message_check_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    IF NEW.consent_exempt THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(o.reason, o.source) INTO why FROM herald.opt_out o
     WHERE o.channel = NEW.channel AND o.recipient = herald.normalize_recipient(NEW.channel, NEW.recipient);
    IF FOUND THEN
        NEW.status := 'suppressed';
        NEW.last_error := format('recipient opted out of %s: %s', NEW.channel, why);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION herald.opt_out_suppress_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO herald.consent_event (channel, recipient, action, source, reason)
    VALUES (NEW.channel, NEW.recipient, 'opt_out', NEW.source, NEW.reason);
    UPDATE herald.message
       SET status = 'suppressed',
           last_error = format('recipient opted out of %s: %s', NEW.channel, coalesce(NEW.reason, NEW.source)),
           updated_at = now()
     WHERE channel = NEW.channel AND status = 'pending' AND NOT consent_exempt
       AND herald.normalize_recipient(channel, recipient) = NEW.recipient;
    RETURN NULL;
END
$$;

-- CREATE OR REPLACE resets what 007 and 008 set: the triggers act for whoever writes.
ALTER FUNCTION herald.opt_out_suppress_pending() SECURITY DEFINER SET search_path = pg_catalog, herald;
ALTER FUNCTION herald.message_check_opt_out() SECURITY DEFINER SET search_path = pg_catalog, herald;

-- Secrets Herald makes for itself (the key that signs unsubscribe links when no key file
-- is configured): readable by the daemon only.
CREATE TABLE herald.secret (
    name       text        PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON herald.secret FROM PUBLIC;
GRANT SELECT, INSERT ON herald.secret TO herald_daemon;
-- herald_admin has every table by 007's ALL TABLES grant, which did not cover this new one.

-- The daemon answers keyword replies, and only that: it may not enqueue messages (007), so
-- it queues Herald's own reply templates through this function, which sets the exemption
-- for the STOP confirmation and nothing else.
CREATE FUNCTION herald.queue_reply(p_channel text, p_recipient text, p_template text, p_locale text,
                                   p_location_id text, p_time_zone text, p_data jsonb, p_dedupe_key text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    new_id bigint;
BEGIN
    IF p_template NOT IN ('reply.stopped', 'reply.started', 'reply.help') THEN
        RAISE EXCEPTION 'herald.queue_reply: % is not one of Herald''s reply templates', p_template;
    END IF;
    INSERT INTO herald.message (channel, recipient, template, locale, location_id, time_zone, data, urgent, consent_exempt, dedupe_key)
    VALUES (p_channel, p_recipient, p_template, p_locale, p_location_id, p_time_zone, p_data, true,
            p_template = 'reply.stopped', p_dedupe_key)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.queue_reply(text, text, text, text, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.queue_reply(text, text, text, text, text, text, jsonb, text) TO herald_daemon, herald_admin;

-- Delivery receipts (status callbacks), stored as they come and applied to their message:
-- one arriving before Herald has recorded the provider's id (the callback can beat the
-- outcome writer) waits here and is applied when the id is known, or marked unknown after
-- an hour.
CREATE TABLE herald.receipt (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider            text        NOT NULL,   -- 'twilio'
    provider_message_id text        NOT NULL,   -- MessageSid
    status              text        NOT NULL,   -- the provider's status as sent (queued, sent, delivered, undelivered, failed, …)
    error_code          text,                   -- the provider's ErrorCode
    received_at         timestamptz NOT NULL DEFAULT now(),
    applied_at          timestamptz,
    -- 'delivered', 'undelivered', 'ignored (<message status>)' when it changes nothing
    -- (not final, or the message already final), 'unknown message' after an hour unmatched.
    result              text
);
CREATE INDEX receipt_pending ON herald.receipt (id) WHERE applied_at IS NULL;
CREATE INDEX receipt_provider_id ON herald.receipt (provider_message_id);
COMMENT ON TABLE herald.receipt IS
    'Delivery receipts from providers. A final one moves its message from sent to delivered or undelivered; nothing ever moves a message back.';

GRANT SELECT, INSERT, UPDATE, DELETE ON herald.receipt TO herald_daemon;
GRANT SELECT ON herald.receipt TO herald_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.receipt, herald.secret TO herald_admin;

-- Retention also removes applied receipts older than keep.
CREATE OR REPLACE FUNCTION herald.prune(keep interval, batch_size integer DEFAULT 1000) RETURNS integer LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT id FROM herald.message
         WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
           AND updated_at < now() - keep
         ORDER BY updated_at
         LIMIT batch_size
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM herald.message m USING doomed d WHERE m.id = d.id RETURNING 1
    ), receipts AS (
        DELETE FROM herald.receipt WHERE id IN (
            SELECT id FROM herald.receipt WHERE applied_at < now() - keep ORDER BY id LIMIT batch_size FOR UPDATE SKIP LOCKED)
    )
    SELECT count(*)::integer FROM gone
$$;
