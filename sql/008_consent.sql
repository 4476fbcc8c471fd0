-- Consent: one normal form for recipients (matched the same way everywhere), an
-- append-only ledger of every opt-out and opt-in with its source, and opt-outs enforced
-- when a message is retried, not only when it is inserted.

-- The key a recipient is stored and matched under (RecipientKey in Swift computes the
-- same): sms: E.164 once spaces, ( ) . / - are removed and a leading 00 is made +, else
-- the text trimmed; email: the address inside a final <...>, trimmed, ASCII lower-cased;
-- webhook: trimmed.
-- One SQL expression (no subquery, not STRICT) so that the planner inlines it.
CREATE FUNCTION herald.normalize_recipient(p_channel text, p_recipient text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_channel = 'sms' AND regexp_replace(p_recipient, E'[ \t\r\n()./-]', '', 'g') ~ '^(\+|00)[1-9][0-9]{6,14}$'
            THEN '+' || regexp_replace(regexp_replace(p_recipient, E'[ \t\r\n()./-]', '', 'g'), '^(\+|00)', '')
        WHEN p_channel = 'email'
            THEN translate(btrim(coalesce(substring(p_recipient FROM E'<([^<>]*)>[ \t\r\n]*$'), p_recipient), E' \t\r\n'),
                           'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
        ELSE btrim(p_recipient, E' \t\r\n')
    END
$$;

COMMENT ON FUNCTION herald.normalize_recipient(text, text) IS
    'The form recipients are stored in herald.opt_out and matched in: E.164 for phones, the bare lower-cased address for email.';

-- Opt-outs already recorded are put in that form (the earliest of any that now coincide is kept).
DELETE FROM herald.opt_out o
 USING herald.opt_out k
 WHERE o.channel = k.channel
   AND herald.normalize_recipient(o.channel, o.recipient) = herald.normalize_recipient(k.channel, k.recipient)
   AND (o.created_at, o.recipient) > (k.created_at, k.recipient);
UPDATE herald.opt_out SET recipient = herald.normalize_recipient(channel, recipient)
 WHERE recipient <> herald.normalize_recipient(channel, recipient);

-- The ledger: every change of consent, never updated or deleted.
CREATE TABLE herald.consent_event (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel     text        NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    recipient   text        NOT NULL,   -- normalised
    action      text        NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
    -- 'provider' (error 21610), 'keyword' (a STOP/START reply), 'unsubscribe' (the email
    -- link), 'host' (a row inserted or deleted by the host or a DBA), or what the writer set.
    source      text        NOT NULL,
    reason      text,
    recorded_by text        NOT NULL DEFAULT current_user,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX consent_event_recipient ON herald.consent_event (channel, recipient, created_at);

COMMENT ON TABLE herald.consent_event IS
    'Append-only history of opt-outs and opt-ins: who, when, through what, and why. herald.opt_out is who is opted out now.';

CREATE FUNCTION herald.consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'herald.consent_event is append-only: its rows are the history of consent and are never changed or deleted';
END
$$;

CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON herald.consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION herald.consent_event_append_only();

-- Every opt-out row is stored normalised.
CREATE FUNCTION herald.opt_out_normalize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.recipient := herald.normalize_recipient(NEW.channel, NEW.recipient);
    RETURN NEW;
END
$$;

CREATE TRIGGER opt_out_normalize BEFORE INSERT OR UPDATE ON herald.opt_out
    FOR EACH ROW EXECUTE FUNCTION herald.opt_out_normalize();

-- Recording an opt-out: the ledger, then what is still waiting for that recipient in any
-- written form is suppressed.
CREATE OR REPLACE FUNCTION herald.opt_out_suppress_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO herald.consent_event (channel, recipient, action, source, reason)
    VALUES (NEW.channel, NEW.recipient, 'opt_out', NEW.source, NEW.reason);
    UPDATE herald.message
       SET status = 'suppressed',
           last_error = format('recipient opted out of %s: %s', NEW.channel, coalesce(NEW.reason, NEW.source)),
           updated_at = now()
     WHERE channel = NEW.channel AND status = 'pending'
       AND herald.normalize_recipient(channel, recipient) = NEW.recipient;
    RETURN NULL;
END
$$;

-- Lifting one (DELETE FROM herald.opt_out): the ledger records the opt-in, with the source
-- the deleting session set (SET LOCAL herald.consent_source = 'keyword') or 'host'.
CREATE FUNCTION herald.opt_out_lifted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO herald.consent_event (channel, recipient, action, source, reason)
    VALUES (OLD.channel, OLD.recipient, 'opt_in',
            coalesce(nullif(current_setting('herald.consent_source', true), ''), 'host'),
            nullif(current_setting('herald.consent_reason', true), ''));
    RETURN NULL;
END
$$;

CREATE TRIGGER opt_out_lifted AFTER DELETE ON herald.opt_out
    FOR EACH ROW EXECUTE FUNCTION herald.opt_out_lifted();

-- A message enqueued for an opted-out recipient, written in any form, is suppressed at once.
CREATE OR REPLACE FUNCTION herald.message_check_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    SELECT coalesce(o.reason, o.source) INTO why FROM herald.opt_out o
     WHERE o.channel = NEW.channel AND o.recipient = herald.normalize_recipient(NEW.channel, NEW.recipient);
    IF FOUND THEN
        NEW.status := 'suppressed';
        NEW.last_error := format('recipient opted out of %s: %s', NEW.channel, why);
    END IF;
    RETURN NEW;
END
$$;

-- herald.retry refuses a message whose recipient is opted out (a suppressed message made
-- due again would otherwise be sent to a client who said STOP).
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
           last_error = format('retried by %s (was %s: %s)', current_user, m.status, coalesce(m.last_error, '-'))
     WHERE id = message_id;
    PERFORM pg_notify('herald_message', '');
    RETURN format('message %s: %s -> pending', message_id, m.status);
END $$;

-- Triggers write the ledger whoever changes opt-outs; the roles read it.
ALTER FUNCTION herald.opt_out_lifted() SECURITY DEFINER SET search_path = pg_catalog, herald;
ALTER FUNCTION herald.opt_out_suppress_pending() SECURITY DEFINER SET search_path = pg_catalog, herald;
ALTER FUNCTION herald.message_check_opt_out() SECURITY DEFINER SET search_path = pg_catalog, herald;
GRANT SELECT ON herald.consent_event TO herald_daemon, herald_host, herald_admin;
