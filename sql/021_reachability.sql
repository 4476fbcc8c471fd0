-- Knowing when a client cannot be reached (issue 27): email bounces and complaints, and one
-- answer per contact and channel.
--
-- * herald.undeliverable: addresses Herald will not send to again until they change, an
--   operator lifts them (DELETE) or their `until` passes: a hard bounce (the mailbox does not
--   exist), a landline (Twilio Lookup, or a receipt's error 30006).
-- * herald.line_type: what Twilio Lookup said of each number, and when. Pending messages to the address are suppressed when it is recorded; a
--   message inserted for it is suppressed at once; the claim and the last look before the
--   driver check it too.
-- * herald.mail_feedback: every bounce and abuse report read (herald ingest-mail, and the
--   email providers' event webhooks), once each, with what Herald did.
-- * herald.record_mail_feedback: the one way a report is applied.
-- * herald.unreachable: for each contact, address and channel that cannot be reached, why,
--   since when, and the message that showed it.

CREATE TABLE herald.undeliverable (
    channel    text        NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient  text        NOT NULL,   -- normalised on insert (herald.normalize_recipient)
    reason     text        NOT NULL CHECK (reason IN ('hard_bounce', 'landline')),
    detail     text        NOT NULL DEFAULT '',
    message_id bigint,                 -- the message that showed it (no foreign key: retention prunes messages)
    created_at timestamptz NOT NULL DEFAULT now(),
    until      timestamptz,            -- NULL: until lifted; a landline is looked up again after it
    PRIMARY KEY (channel, recipient)
);
COMMENT ON TABLE herald.undeliverable IS
    'Addresses Herald does not send to: a hard bounce, a landline. DELETE a row to lift it; a changed address is not in here.';

CREATE FUNCTION herald.undeliverable_normalize() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, herald AS $$
BEGIN
    NEW.recipient := herald.normalize_recipient(NEW.channel, NEW.recipient);
    NEW.detail := left(NEW.detail, 2000);
    RETURN NEW;
END
$$;
CREATE TRIGGER undeliverable_normalize BEFORE INSERT OR UPDATE ON herald.undeliverable
    FOR EACH ROW EXECUTE FUNCTION herald.undeliverable_normalize();

-- The reason a message to an undeliverable address is suppressed with (inlined where used).
CREATE FUNCTION herald.undeliverable_text(u herald.undeliverable) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT left(format('%s %s is undeliverable (%s): %s', u.channel, u.recipient, replace(u.reason, '_', ' '), u.detail), 2000)
$$;

-- What is still waiting for the address is suppressed, with the reason.
CREATE FUNCTION herald.undeliverable_suppress_pending() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF NEW.until IS NOT NULL AND NEW.until <= now() THEN
        RETURN NULL;
    END IF;
    UPDATE herald.message
       SET status = 'suppressed', updated_at = now(),
           last_error = herald.undeliverable_text(NEW)
     WHERE recipient_key = NEW.recipient AND channel = NEW.channel AND status = 'pending' AND NOT consent_exempt;
    RETURN NULL;
END
$$;
CREATE TRIGGER undeliverable_suppress AFTER INSERT OR UPDATE ON herald.undeliverable
    FOR EACH ROW EXECUTE FUNCTION herald.undeliverable_suppress_pending();

-- INSERT and UPDATE: a receipt's 30006 upserts a landline (InboundStore.applyReceipts).
GRANT SELECT, INSERT, UPDATE ON herald.undeliverable TO herald_daemon;
GRANT SELECT ON herald.undeliverable TO herald_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.undeliverable TO herald_admin;

-- Inserted messages: an opt-out or an undeliverable address suppresses them, by the key
-- message_before_insert has just computed.
CREATE OR REPLACE FUNCTION herald.message_check_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    IF NEW.consent_exempt THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(o.reason, o.source) INTO why FROM herald.opt_out o
     WHERE o.channel = NEW.channel AND o.recipient = NEW.recipient_key;
    IF FOUND THEN
        NEW.status := 'suppressed';
        NEW.last_error := format('recipient opted out of %s: %s', NEW.channel, why);
        RETURN NEW;
    END IF;
    SELECT herald.undeliverable_text(u) INTO why FROM herald.undeliverable u
     WHERE u.channel = NEW.channel AND u.recipient = NEW.recipient_key AND (u.until IS NULL OR u.until > now());
    IF FOUND THEN
        NEW.status := 'suppressed';
        NEW.last_error := why;
    END IF;
    RETURN NEW;
END
$$;
ALTER FUNCTION herald.message_check_opt_out() SECURITY DEFINER SET search_path = pg_catalog, herald;

CREATE TABLE herald.mail_feedback (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text        NOT NULL,   -- 'dsn', 'arf', 'sendgrid', 'mailgun'
    event_key   text        NOT NULL,   -- the report's own id and recipient: a second delivery is a no-op
    kind        text        NOT NULL CHECK (kind IN ('hard_bounce', 'failed', 'soft_bounce', 'complaint')),
    message_id  bigint,
    recipient   text        NOT NULL DEFAULT '',
    status      text,                   -- the enhanced status code, 5.1.1
    detail      text        NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now(),
    result      text        NOT NULL DEFAULT '',
    UNIQUE (source, event_key)
);
CREATE INDEX mail_feedback_message_idx ON herald.mail_feedback (message_id);
COMMENT ON TABLE herald.mail_feedback IS
    'Bounces and abuse reports about Herald''s emails, each once, with what Herald did (result).';
GRANT SELECT ON herald.mail_feedback TO herald_daemon, herald_host;
GRANT SELECT, DELETE ON herald.mail_feedback TO herald_admin;

-- Applies one report about message p_message, whose bounce token the caller has verified.
-- hard_bounce: the message undelivered, the address undeliverable; failed: the message
-- undelivered; soft_bounce: recorded; complaint: the address opted out of email (consent
-- source 'complaint', which only Herald's own logins may record). Returns what it did.
CREATE FUNCTION herald.record_mail_feedback(p_source text, p_event_key text, p_kind text, p_message bigint,
                                            p_recipient text, p_status text, p_detail text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    m record;
    fid bigint;
    outcome text;
    what text := left(concat_ws(' ', nullif(p_status, ''), nullif(p_detail, '')), 1000);
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('hard_bounce', 'failed', 'soft_bounce', 'complaint') THEN
        RAISE EXCEPTION 'herald.record_mail_feedback: kind % is not hard_bounce, failed, soft_bounce or complaint', p_kind;
    END IF;
    SELECT id, coalesce(recipient_key, herald.normalize_recipient(channel, recipient)) AS recipient_key, status INTO m
      FROM herald.message WHERE id = p_message AND channel = 'email';
    -- Still being handed over (its outcome not yet recorded): nothing is recorded, and the
    -- caller asks the mail server or provider to come back (a bounce must not be lost).
    IF m.status = 'sending' THEN
        RETURN 'retry later';
    END IF;
    INSERT INTO herald.mail_feedback (source, event_key, kind, message_id, recipient, status, detail)
    VALUES (left(p_source, 40), left(p_event_key, 600), p_kind, p_message,
            left(coalesce(m.recipient_key, herald.normalize_recipient('email', coalesce(p_recipient, ''))), 320),
            left(p_status, 20), left(coalesce(p_detail, ''), 1000))
    ON CONFLICT (source, event_key) DO NOTHING
    RETURNING id INTO fid;
    IF fid IS NULL THEN
        RETURN 'already recorded';
    END IF;
    IF m.id IS NULL THEN
        outcome := 'unknown message';
    ELSIF p_kind IN ('hard_bounce', 'failed') THEN
        UPDATE herald.message
           SET status = 'undelivered', updated_at = now(),
               last_error = left(format('%s: %s', CASE p_kind WHEN 'hard_bounce' THEN 'bounced, the address does not exist'
                                                             ELSE 'refused by the receiving mail server' END, what), 2000)
         WHERE id = m.id AND status = 'sent';
        outcome := CASE WHEN FOUND THEN 'undelivered' ELSE format('message left %s', m.status) END;
        IF p_kind = 'hard_bounce' THEN
            INSERT INTO herald.undeliverable (channel, recipient, reason, detail, message_id)
            VALUES ('email', m.recipient_key, 'hard_bounce', what, m.id)
            ON CONFLICT (channel, recipient) DO UPDATE
               SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, message_id = EXCLUDED.message_id, created_at = now(), until = NULL
             WHERE herald.undeliverable.until IS NOT NULL AND herald.undeliverable.until <= now();
            outcome := outcome || '; address undeliverable';
        END IF;
    ELSIF p_kind = 'complaint' THEN
        INSERT INTO herald.opt_out (channel, recipient, source, reason)
        VALUES ('email', m.recipient_key, 'complaint', left(format('marked as spam (message %s): %s', m.id, what), 2000))
        ON CONFLICT (channel, recipient) DO NOTHING;
        outcome := 'opted out of email';
    ELSE
        outcome := 'soft bounce recorded';
    END IF;
    UPDATE herald.mail_feedback SET result = outcome WHERE id = fid;
    RETURN outcome;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.record_mail_feedback(text, text, text, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.record_mail_feedback(text, text, text, bigint, text, text, text) TO herald_daemon, herald_admin;

-- One answer to "why does this client get nothing": a row per contact, channel and reason
-- it cannot be reached there. No row: reachable.
--   no_address            the contact has no phone or email
--   contact_settings      their preference or consent excludes the channel
--   opted_out, complaint  an opt-out (a complaint: they marked an email as spam)
--   hard_bounce, landline herald.undeliverable
--   invalid_number        the phone is not an international number
--   repeated_undelivered  the last three messages sent there were all undelivered
CREATE VIEW herald.unreachable AS
SELECT a.contact_id, a.channel, a.address, r.reason, r.detail, r.since, r.message_id
  FROM (SELECT c.id AS contact_id, ch.channel, CASE ch.channel WHEN 'email' THEN c.email ELSE c.phone END AS address,
               herald.normalize_recipient(ch.channel, coalesce(CASE ch.channel WHEN 'email' THEN c.email ELSE c.phone END, '')) AS key
          FROM herald.contact c CROSS JOIN (VALUES ('email'), ('sms')) AS ch(channel)) a
 CROSS JOIN LATERAL (
        SELECT 'no_address' AS reason, format('contact %s has no %s', a.contact_id, CASE a.channel WHEN 'email' THEN 'email' ELSE 'phone' END) AS detail,
               NULL::timestamptz AS since, NULL::bigint AS message_id
         WHERE a.key = ''
        UNION ALL
        SELECT 'contact_settings', herald.contact_block(a.contact_id, a.channel), NULL, NULL
         WHERE herald.contact_block(a.contact_id, a.channel) IS NOT NULL
        UNION ALL
        SELECT CASE WHEN o.source = 'complaint' THEN 'complaint' ELSE 'opted_out' END, coalesce(o.reason, o.source), o.created_at, NULL
          FROM herald.opt_out o WHERE o.channel = a.channel AND o.recipient = a.key AND a.key <> ''
        UNION ALL
        SELECT u.reason, u.detail, u.created_at, u.message_id
          FROM herald.undeliverable u WHERE u.channel = a.channel AND u.recipient = a.key AND a.key <> '' AND (u.until IS NULL OR u.until > now())
        UNION ALL
        SELECT 'invalid_number', format('%s is not an international phone number (+ and 7 to 15 digits)', a.address), NULL, NULL
         WHERE a.channel = 'sms' AND a.key <> '' AND a.key !~ '^\+[1-9][0-9]{6,14}$'
        UNION ALL
        SELECT 'repeated_undelivered',
               left(format('the last 3 messages sent there were undelivered; the last: %s', (array_agg(x.last_error ORDER BY x.id DESC))[1]), 2000),
               min(x.updated_at), max(x.id)
          FROM (SELECT m.id, m.status, m.updated_at, m.last_error FROM herald.message m
                 WHERE m.recipient_key = a.key AND m.channel = a.channel AND a.key <> ''
                   AND m.status IN ('sent', 'delivered', 'undelivered')
                 ORDER BY m.id DESC LIMIT 3) x
        HAVING count(*) = 3 AND bool_and(x.status = 'undelivered')
    ) r;
COMMENT ON VIEW herald.unreachable IS
    'Per contact and channel, each reason it cannot be reached (no_address, contact_settings, opted_out, complaint, hard_bounce, landline, invalid_number, repeated_undelivered), since when, and the message that showed it.';
GRANT SELECT ON herald.unreachable TO herald_daemon, herald_host, herald_admin, herald_api;

-- What Twilio Lookup (line type intelligence, a paid call) said of a number, kept so that a
-- number is looked up before its first SMS and again only when the answer is older than
-- [channels.sms] lookup_max_age.
CREATE TABLE herald.line_type (
    number     text        PRIMARY KEY,   -- E.164
    line_type  text        NOT NULL,      -- Twilio's: mobile, landline, fixedVoip, nonFixedVoip, tollFree, …
    carrier    text,
    checked_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE herald.line_type IS 'Twilio Lookup''s answer per number (line type and carrier) and when it was asked.';
GRANT SELECT ON herald.line_type TO herald_host, herald_daemon;  -- the daemon writes through herald.record_line_type
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.line_type TO herald_admin;

-- Records a lookup's answer for the number of message p_message. A landline becomes
-- undeliverable for SMS until p_max_age has passed (then it is looked up again); any other
-- answer lifts a landline recorded before (the number was ported to a mobile).
CREATE FUNCTION herald.record_line_type(p_number text, p_type text, p_carrier text, p_message bigint, p_max_age interval) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    key text := herald.normalize_recipient('sms', p_number);
BEGIN
    INSERT INTO herald.line_type (number, line_type, carrier, checked_at)
    VALUES (key, left(p_type, 40), left(p_carrier, 200), now())
    ON CONFLICT (number) DO UPDATE SET line_type = EXCLUDED.line_type, carrier = EXCLUDED.carrier, checked_at = now();
    IF p_type = 'landline' THEN
        INSERT INTO herald.undeliverable (channel, recipient, reason, detail, message_id, until)
        VALUES ('sms', key, 'landline', 'Twilio Lookup: a landline' || coalesce(' (' || left(p_carrier, 200) || ')', ''), p_message,
                now() + least(greatest(p_max_age, interval '1 hour'), interval '3650 days'))
        ON CONFLICT (channel, recipient) DO UPDATE
           SET reason = EXCLUDED.reason, detail = EXCLUDED.detail, message_id = EXCLUDED.message_id, created_at = now(), until = EXCLUDED.until
         WHERE herald.undeliverable.reason = 'landline' OR herald.undeliverable.until <= now();
    ELSE
        DELETE FROM herald.undeliverable WHERE channel = 'sms' AND recipient = key AND reason = 'landline';
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.record_line_type(text, text, text, bigint, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.record_line_type(text, text, text, bigint, interval) TO herald_daemon, herald_admin;

-- An operator lifting a landline (DELETE FROM herald.undeliverable) lifts the kept answer
-- too: the number is looked up again before its next SMS.
CREATE FUNCTION herald.undeliverable_lifted() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF OLD.channel = 'sms' AND OLD.reason = 'landline' THEN
        DELETE FROM herald.line_type WHERE number = OLD.recipient AND line_type = 'landline';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER undeliverable_lifted AFTER DELETE ON herald.undeliverable
    FOR EACH ROW EXECUTE FUNCTION herald.undeliverable_lifted();

-- Signed webhook requests whose signature does not cover their body (Mailgun signs a
-- timestamp and a token): a token goes with one event only. The provider's retry of the
-- same event passes; the token with another event (a signature lifted from one request
-- and put on a made-up body) is refused. Kept a day (signatures count for ten minutes).
CREATE TABLE herald.webhook_token (
    key     text        PRIMARY KEY,
    event   text        NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION herald.webhook_token_use(p_key text, p_event text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    first_event text;
BEGIN
    DELETE FROM herald.webhook_token WHERE key IN (
        SELECT key FROM herald.webhook_token WHERE seen_at < now() - interval '1 day' LIMIT 100);
    INSERT INTO herald.webhook_token (key, event) VALUES (left(p_key, 300), left(p_event, 300)) ON CONFLICT (key) DO NOTHING;
    SELECT event INTO first_event FROM herald.webhook_token WHERE key = left(p_key, 300);
    RETURN first_event = left(p_event, 300);
END
$$;
REVOKE ALL ON herald.webhook_token FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION herald.webhook_token_use(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.webhook_token_use(text, text) TO herald_daemon;
