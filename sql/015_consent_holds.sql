-- Consent holds at every step (issue 28): one normal form for recipients that knows
-- Unicode spaces, each message's key stored so that checks stay cheap, who recorded a
-- change of consent and through what, and a daemon that can change only what it must.

-- One normal form, shared by SQL, Swift (RecipientKey) and the drivers. Around every
-- recipient, Unicode White_Space (U+0009-000D, U+0020, U+0085, U+00A0, U+1680,
-- U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000) is trimmed, and the invisible
-- U+200B, U+FEFF and U+2060 are ignored wherever they are (addresses pasted from
-- spreadsheets and chat apps carry them). Written as explicit code points: a character
-- class such as [[:space:]] would depend on the database's locale.
--   sms: every such character and ( ) . / - removed, a leading 00 made +; E.164 if it then
--        is (+, a first digit 1-9, 7 to 15 digits), else the text trimmed;
--   email: the address inside a final <...>, trimmed, ASCII letters lower-cased;
--   webhook (and anything else): the text trimmed.
CREATE OR REPLACE FUNCTION herald.normalize_recipient(p_channel text, p_recipient text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_channel = 'sms'
             AND translate(p_recipient, E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060()./-', '')
                 ~ '^(\+|00)[1-9][0-9]{6,14}$'
            THEN '+' || regexp_replace(
                     translate(p_recipient, E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060()./-', ''),
                     '^(\+|00)', '')
        WHEN p_channel = 'email'
            THEN translate(
                     btrim(translate(coalesce(substring(p_recipient FROM E'<([^<>]*)>[\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060]*$'),
                                              p_recipient),
                                     E'\u200B\uFEFF\u2060', ''),
                           E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000'),
                     'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        ELSE btrim(translate(p_recipient, E'\u200B\uFEFF\u2060', ''),
                   E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
    END
$$;

-- Opt-outs already recorded are re-keyed (one stored with a trailing U+00A0 by an old
-- unsubscribe link now matches the plain address); the earliest of any that coincide is kept.
DELETE FROM herald.opt_out o
 USING herald.opt_out k
 WHERE o.channel = k.channel
   AND herald.normalize_recipient(o.channel, o.recipient) = herald.normalize_recipient(k.channel, k.recipient)
   AND (o.created_at, o.recipient) > (k.created_at, k.recipient);
UPDATE herald.opt_out SET recipient = herald.normalize_recipient(channel, recipient)
 WHERE recipient <> herald.normalize_recipient(channel, recipient);
UPDATE herald.inbound SET from_address = herald.normalize_recipient(channel, from_address)
 WHERE processed_at IS NULL AND from_address <> herald.normalize_recipient(channel, from_address);

-- Each message's key, computed once on insert (and when an administrator rewrites the
-- recipient), so that the claim, the check before the driver and an opt-out's suppression
-- compare keys instead of running the normalisation's expressions on every row. Messages
-- that had finished before this migration keep NULL; checks fall back to the function.
ALTER TABLE herald.message ADD COLUMN recipient_key text;
COMMENT ON COLUMN herald.message.recipient_key IS
    'herald.normalize_recipient(channel, recipient), set on insert: the key opt-outs are matched on. Written by Herald only.';
UPDATE herald.message SET recipient_key = herald.normalize_recipient(channel, recipient)
 WHERE status IN ('pending', 'sending');
-- An opt-out suppresses its recipient's pending messages through this index (it scanned
-- every pending row of the channel before).
-- Its predicate names the key, so that only a query that compares the key can use it: the
-- claim and the idle check (status = 'pending' alone) keep to message_due_idx.
CREATE INDEX message_recipient_key_idx ON herald.message (recipient_key, channel)
    WHERE status = 'pending' AND recipient_key IS NOT NULL;

CREATE OR REPLACE FUNCTION herald.message_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.recipient_key := herald.normalize_recipient(NEW.channel, NEW.recipient);
    NEW.next_attempt_at := coalesce(NEW.next_attempt_at, NEW.send_at + NEW.postpone);
    IF NOT isfinite(NEW.next_attempt_at) THEN
        NEW.next_attempt_at := now();
    END IF;
    NEW.status := coalesce(NEW.status, 'pending');
    IF NEW.dedupe_key IS NOT NULL THEN
        UPDATE herald.message
           SET status = 'cancelled',
               last_error = format('superseded by message %s (dedupe_key %L)', NEW.id, dedupe_key),
               dedupe_key = NULL,
               updated_at = now()
         WHERE dedupe_key = NEW.dedupe_key AND status = 'pending';
        UPDATE herald.message
           SET last_error = format('superseded by message %s (dedupe_key %L) while being sent; this version finishes as it was',
                                   NEW.id, dedupe_key),
               dedupe_key = NULL,
               updated_at = now()
         WHERE dedupe_key = NEW.dedupe_key AND status = 'sending';
    END IF;
    RETURN NEW;
END $$;
ALTER FUNCTION herald.message_before_insert() SECURITY DEFINER SET search_path = pg_catalog, herald;

CREATE FUNCTION herald.message_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.recipient_key := herald.normalize_recipient(NEW.channel, NEW.recipient);
    RETURN NEW;
END $$;
CREATE TRIGGER message_rekey BEFORE UPDATE OF channel, recipient, recipient_key ON herald.message
    FOR EACH ROW EXECUTE FUNCTION herald.message_rekey();

-- Inserted messages: matched on the key just computed (message_before_insert runs first).
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
    END IF;
    RETURN NEW;
END
$$;
ALTER FUNCTION herald.message_check_opt_out() SECURITY DEFINER SET search_path = pg_catalog, herald;

-- The sources only Herald's own paths may claim: a client's reply (keyword), a one-click
-- unsubscribe link, a provider's report (21610), a complaint. A host or an administrator
-- writes 'host' or a name of its own ('desk', 'import', ...).
-- A fixed search_path: run as the caller, it must not find a caller's own pg_has_role.
CREATE FUNCTION herald.check_consent_source(p_source text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, herald AS $$
BEGIN
    IF lower(btrim(p_source)) IN ('keyword', 'unsubscribe', 'provider', 'complaint')
       AND NOT pg_catalog.pg_has_role(session_user, 'herald_daemon', 'MEMBER') THEN
        RAISE EXCEPTION 'herald: consent source % is recorded by Herald itself only; % is not a member of herald_daemon', p_source, session_user
            USING ERRCODE = '42501',
                  HINT = 'Record an opt-out or opt-in with source ''host'' (the default) or a name of your own, such as ''desk''.';
    END IF;
END
$$;

-- Who: the login that made the change (session_user), not the functions' owner.
ALTER TABLE herald.consent_event ALTER COLUMN recorded_by SET DEFAULT session_user;
COMMENT ON COLUMN herald.consent_event.recorded_by IS 'The login (session_user) whose statement changed consent.';

-- An opt-out is recorded (INSERT) or lifted (DELETE), never moved to another address by
-- an UPDATE, which would opt one client in and another out with nothing in the ledger.
CREATE OR REPLACE FUNCTION herald.opt_out_normalize() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, herald AS $$
BEGIN
    PERFORM herald.check_consent_source(NEW.source);
    NEW.recipient := herald.normalize_recipient(NEW.channel, NEW.recipient);
    IF TG_OP = 'UPDATE' AND (NEW.channel, NEW.recipient, NEW.source) IS DISTINCT FROM (OLD.channel, OLD.recipient, OLD.source) THEN
        RAISE EXCEPTION 'herald.opt_out: an opt-out''s channel, recipient and source are not changed; delete it (an opt-in) and insert another'
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;

-- TRUNCATE would lift every opt-out with nothing in the ledger: lift them with DELETE.
CREATE FUNCTION herald.opt_out_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'herald.opt_out is not truncated: DELETE the opt-outs to lift, so that the ledger records each opt-in'
        USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER opt_out_no_truncate BEFORE TRUNCATE ON herald.opt_out
    FOR EACH STATEMENT EXECUTE FUNCTION herald.opt_out_no_truncate();

-- Recording an opt-out: the ledger, then what is still waiting for that recipient (found
-- by its key) is suppressed. Messages already claimed are checked again by the daemon
-- just before their driver is called.
CREATE OR REPLACE FUNCTION herald.opt_out_suppress_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO herald.consent_event (channel, recipient, action, source, reason)
    VALUES (NEW.channel, NEW.recipient, 'opt_out', NEW.source, NEW.reason);
    UPDATE herald.message
       SET status = 'suppressed',
           last_error = format('recipient opted out of %s: %s', NEW.channel, coalesce(NEW.reason, NEW.source)),
           updated_at = now()
     WHERE channel = NEW.channel AND status = 'pending' AND recipient_key = NEW.recipient AND NOT consent_exempt;
    RETURN NULL;
END
$$;
ALTER FUNCTION herald.opt_out_suppress_pending() SECURITY DEFINER SET search_path = pg_catalog, herald;

CREATE OR REPLACE FUNCTION herald.opt_out_lifted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    source text := coalesce(nullif(current_setting('herald.consent_source', true), ''), 'host');
BEGIN
    PERFORM herald.check_consent_source(source);
    INSERT INTO herald.consent_event (channel, recipient, action, source, reason)
    VALUES (OLD.channel, OLD.recipient, 'opt_in', source, nullif(current_setting('herald.consent_reason', true), ''));
    RETURN NULL;
END
$$;
ALTER FUNCTION herald.opt_out_lifted() SECURITY DEFINER SET search_path = pg_catalog, herald;

-- herald.retry also sets the key of a message that finished before it existed.
CREATE OR REPLACE FUNCTION herald.retry(message_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m herald.message%ROWTYPE;
    why text;
BEGIN
    SELECT * INTO m FROM herald.message WHERE id = message_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'herald.retry: no message %', message_id;
    ELSIF m.status IN ('pending', 'sending') THEN
        RAISE EXCEPTION 'herald.retry: message % is %, not finished', message_id, m.status;
    END IF;
    SELECT coalesce(o.reason, o.source) INTO why FROM herald.opt_out o
     WHERE o.channel = m.channel AND o.recipient = herald.normalize_recipient(m.channel, m.recipient);
    IF FOUND THEN
        RAISE EXCEPTION 'herald.retry: message % goes to %, who opted out of % (%); it stays %', message_id,
            herald.normalize_recipient(m.channel, m.recipient), m.channel, why, m.status
            USING HINT = 'The client must opt back in first (a START reply, or DELETE FROM herald.opt_out for that recipient).';
    END IF;
    UPDATE herald.message
       SET status = 'pending', attempts = 0, next_attempt_at = now(),
           locked_by = NULL, locked_until = NULL, updated_at = now(),
           recipient_key = herald.normalize_recipient(m.channel, m.recipient),
           last_error = format('retried by %s (was %s: %s)', session_user, m.status, coalesce(m.last_error, '-'))
     WHERE id = message_id;
    PERFORM pg_notify('herald_message', '');
    RETURN format('message %s: %s -> pending', message_id, m.status);
END $$;

-- Herald's answer to a keyword carries Herald's data only: the keyword (letters and digits,
-- 32 at most) and the reply it answers. Free text (a location name printed at the start of
-- the SMS) could otherwise be sent, consent-exempt, by anyone holding the daemon's login.
CREATE OR REPLACE FUNCTION herald.queue_reply(p_channel text, p_recipient text, p_template text, p_locale text,
                                              p_location_id text, p_time_zone text, p_data jsonb, p_dedupe_key text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    new_id bigint;
BEGIN
    IF p_template NOT IN ('reply.stopped', 'reply.started', 'reply.help') THEN
        RAISE EXCEPTION 'herald.queue_reply: % is not one of Herald''s reply templates', p_template;
    END IF;
    INSERT INTO herald.message (channel, recipient, template, locale, location_id, time_zone, data, urgent, consent_exempt, dedupe_key)
    VALUES (p_channel, p_recipient, p_template, p_locale, p_location_id, p_time_zone,
            jsonb_build_object('keyword', left(regexp_replace(coalesce(p_data->>'keyword', ''), '[^[:alnum:] ]', '', 'g'), 32),
                               'inbound_id', CASE WHEN jsonb_typeof(p_data->'inbound_id') = 'number' THEN p_data->'inbound_id' END,
                               'location', '{}'::jsonb),
            true, p_template = 'reply.stopped', p_dedupe_key)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- The daemon changes a message's lifecycle and delivery record, nothing else: not its
-- recipient, data, template, times or rules. (It could rewrite any column before: as its
-- login a row was pointed at an opted-out number and sent.)
REVOKE UPDATE ON herald.message FROM herald_daemon;
GRANT UPDATE (status, attempts, next_attempt_at, claimed_at, locked_by, locked_until, last_error, provider_message_id,
              sent_at, delivered_at, rendered_locale, rendered_subject, rendered_body, rendered_html, sms_segments,
              template_version, updated_at) ON herald.message TO herald_daemon;
