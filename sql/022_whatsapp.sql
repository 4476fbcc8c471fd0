-- WhatsApp through Twilio, with SMS as its fallback (issue 27).
--
-- * 'whatsapp' is a channel wherever a channel is named: templates, opt-outs, the consent
--   ledger, inbound, answers, rules, undeliverable addresses, a contact's preference.
-- * A WhatsApp recipient is a phone number, written +34… or whatsapp:+34…; its key is the
--   E.164 number (the same normal form as SMS), so an opt-out keyed by channel stays apart.
-- * herald.contact.whatsapp_consent: Meta requires an opt-in, so WhatsApp goes to a contact
--   only when it is true (NULL, not asked, blocks it as false does).
-- * A template may name a Twilio Content SID (an approved WhatsApp template) and the
--   variables it is sent with; without one its text is free text, which WhatsApp accepts
--   only within 24 hours of the client's last message (herald.whatsapp_window).
-- * Fallback: a WhatsApp message with fallback = 'sms' (from its rule, or the host's) that
--   ends failed, undelivered or suppressed, or has no delivered receipt in time, gets one
--   SMS copy (fallback_of), at most one whatever happens (a unique index).

ALTER TABLE herald.template DROP CONSTRAINT template_channel,
    ADD CONSTRAINT template_channel CHECK (channel IN ('sms', 'email', 'webhook', 'whatsapp'));
ALTER TABLE herald.opt_out DROP CONSTRAINT opt_out_channel_check,
    ADD CONSTRAINT opt_out_channel_check CHECK (channel IN ('sms', 'email', 'webhook', 'whatsapp'));
ALTER TABLE herald.consent_event DROP CONSTRAINT consent_event_channel_check,
    ADD CONSTRAINT consent_event_channel_check CHECK (channel IN ('sms', 'email', 'webhook', 'whatsapp'));
ALTER TABLE herald.inbound DROP CONSTRAINT inbound_channel_check,
    ADD CONSTRAINT inbound_channel_check CHECK (channel IN ('sms', 'email', 'webhook', 'whatsapp'));
ALTER TABLE herald.answer DROP CONSTRAINT answer_channel_check,
    ADD CONSTRAINT answer_channel_check CHECK (channel IN ('link', 'sms', 'whatsapp'));
ALTER TABLE herald.rule DROP CONSTRAINT rule_channels_check,
    ADD CONSTRAINT rule_channels_check CHECK (channels <@ ARRAY['sms', 'email', 'webhook', 'whatsapp'] AND cardinality(channels) > 0);
ALTER TABLE herald.undeliverable DROP CONSTRAINT undeliverable_channel_check,
    ADD CONSTRAINT undeliverable_channel_check CHECK (channel IN ('sms', 'email', 'whatsapp'));
ALTER TABLE herald.contact DROP CONSTRAINT contact_preference_check,
    ADD CONSTRAINT contact_preference_check CHECK (preference IN ('email', 'sms', 'whatsapp', 'both', 'none'));

ALTER TABLE herald.contact ADD COLUMN whatsapp_consent boolean;
COMMENT ON COLUMN herald.contact.whatsapp_consent IS
    'The client opted in to WhatsApp (Meta requires it): WhatsApp goes to them only when true.';
COMMENT ON COLUMN herald.contact.preference IS
    'email, sms, whatsapp (WhatsApp, and SMS only as its fallback), both (any channel the contact consented to), none.';

-- The recipient's key: a whatsapp: prefix is dropped, then as SMS (E.164 when it is one).
CREATE OR REPLACE FUNCTION herald.normalize_recipient(p_channel text, p_recipient text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_channel IN ('sms', 'whatsapp')
             AND translate(CASE WHEN p_channel = 'whatsapp' THEN regexp_replace(p_recipient, E'^[\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060]*[Ww][Hh][Aa][Tt][Ss][Aa][Pp][Pp]:', '') ELSE p_recipient END,
                           E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060()./-', '')
                 ~ '^(\+|00)[1-9][0-9]{6,14}$'
            THEN '+' || regexp_replace(
                     translate(CASE WHEN p_channel = 'whatsapp' THEN regexp_replace(p_recipient, E'^[\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060]*[Ww][Hh][Aa][Tt][Ss][Aa][Pp][Pp]:', '') ELSE p_recipient END,
                               E'\u0009\u000A\u000B\u000C\u000D\u0020\u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000\u200B\uFEFF\u2060()./-', ''),
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

-- Why a contact's message may not go on a channel (NULL: it may). p_fallback: the message is
-- the SMS fallback of a WhatsApp message, which a client who prefers WhatsApp accepts.
CREATE FUNCTION herald.contact_block(p_contact text, p_channel text, p_fallback boolean) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    IF p_channel NOT IN ('sms', 'email', 'whatsapp') THEN
        RETURN NULL;
    END IF;
    SELECT id, preference, sms_consent, email_consent, whatsapp_consent INTO c FROM herald.contact WHERE id = p_contact;
    RETURN CASE
        WHEN c.id IS NULL THEN format('contact %s does not exist', p_contact)
        WHEN c.preference = 'none' THEN format('contact %s wants no messages (preference none)', c.id)
        WHEN c.preference NOT IN (p_channel, 'both') AND NOT (p_fallback AND p_channel = 'sms' AND c.preference = 'whatsapp')
            THEN format('contact %s prefers %s, not %s', c.id, c.preference, p_channel)
        WHEN p_channel = 'sms' AND c.sms_consent IS FALSE THEN format('contact %s has not consented to sms', c.id)
        WHEN p_channel = 'email' AND c.email_consent IS FALSE THEN format('contact %s has not consented to email', c.id)
        WHEN p_channel = 'whatsapp' AND c.whatsapp_consent IS NOT TRUE
            THEN format('contact %s has not opted in to whatsapp (whatsapp_consent is %s)', c.id, coalesce(c.whatsapp_consent::text, 'not set'))
    END;
END
$$;
CREATE OR REPLACE FUNCTION herald.contact_block(p_contact text, p_channel text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT herald.contact_block(p_contact, p_channel, false)
$$;

-- Who a rule's message goes to: WhatsApp goes to the contact's phone (staff: the location's).
CREATE OR REPLACE FUNCTION herald.rule_recipient(r herald.rule, e herald.event, p_channel text) RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT CASE WHEN r.recipient = 'staff' THEN
               (SELECT CASE p_channel WHEN 'email' THEN l.staff_email WHEN 'sms' THEN l.staff_phone WHEN 'whatsapp' THEN l.staff_phone END
                  FROM herald.location l WHERE l.id = e.location_id)
           ELSE (SELECT CASE p_channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone WHEN 'whatsapp' THEN c.phone END
                   FROM herald.contact c WHERE c.id = e.contact_id) END
$$;

-- A contact's changes reach its pending WhatsApp messages as they reach SMS (016).
CREATE OR REPLACE FUNCTION herald.contact_follow() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    UPDATE herald.message m
       SET status = 'suppressed', updated_at = now(),
           last_error = format('contact %s has no %s any more (removed after this message was planned)',
                               NEW.id, CASE WHEN m.channel IN ('sms', 'whatsapp') THEN 'phone number' ELSE 'email address' END)
     WHERE m.contact_id = NEW.id AND m.status = 'pending' AND m.follows_contact
       AND CASE WHEN m.channel IN ('sms', 'whatsapp') THEN nullif(btrim(NEW.phone), '') WHEN m.channel = 'email' THEN nullif(btrim(NEW.email), '') END IS NULL;
    UPDATE herald.message m
       SET recipient = CASE WHEN m.channel IN ('sms', 'whatsapp') THEN NEW.phone ELSE NEW.email END,
           locale = NEW.locale, time_zone = NEW.time_zone, updated_at = now(),
           data = CASE WHEN jsonb_typeof(m.data -> 'client') = 'object' THEN
                      m.data || jsonb_build_object('client', (m.data -> 'client') || jsonb_strip_nulls(jsonb_build_object(
                          'name',  CASE WHEN m.data -> 'client' ->> 'name'  IS NOT DISTINCT FROM OLD.name  THEN NEW.name END,
                          'phone', CASE WHEN m.data -> 'client' ->> 'phone' IS NOT DISTINCT FROM OLD.phone THEN NEW.phone END,
                          'email', CASE WHEN m.data -> 'client' ->> 'email' IS NOT DISTINCT FROM OLD.email THEN NEW.email END)))
                  ELSE m.data END
     WHERE m.contact_id = NEW.id AND m.status = 'pending' AND m.follows_contact AND m.channel IN ('sms', 'email', 'whatsapp');
    RETURN NULL;
END
$$;

-- The reminder a WhatsApp reply answers is found by the recipient's key (a WhatsApp recipient
-- may be written whatsapp:+…); SMS as in 013.
CREATE OR REPLACE FUNCTION herald.answerable_reminder(p_channel text, p_from text, p_unless_opted_out boolean DEFAULT false) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT x.id FROM (
        SELECT m.id, m.sent_at FROM herald.message m
         WHERE p_channel <> 'whatsapp' AND m.channel = p_channel AND m.recipient = herald.normalize_recipient(p_channel, p_from)
           AND m.status IN ('sent', 'delivered') AND m.subject_type IS NOT NULL
           AND (m.event_at IS NULL OR m.event_at > now()) AND herald.asks_answer(m.rule_name, m.template)
        UNION ALL
        SELECT m.id, m.sent_at FROM herald.message m
         WHERE p_channel = 'whatsapp' AND m.channel = 'whatsapp' AND m.recipient_key = herald.normalize_recipient('whatsapp', p_from)
           AND m.status IN ('sent', 'delivered') AND m.subject_type IS NOT NULL
           AND (m.event_at IS NULL OR m.event_at > now()) AND herald.asks_answer(m.rule_name, m.template)
    ) x
     WHERE NOT (p_unless_opted_out AND EXISTS (SELECT 1 FROM herald.opt_out o
                                                WHERE o.channel = p_channel AND o.recipient = herald.normalize_recipient(p_channel, p_from)))
     ORDER BY x.sent_at DESC NULLS LAST, x.id DESC
     LIMIT 1
$$;

-- Answers by reply work on WhatsApp as on SMS.
DO $$
DECLARE
    def text := pg_get_functiondef('herald.record_answer(bigint, text, text, text)'::regprocedure);
    new_def text;
BEGIN
    new_def := replace(replace(def, $a$p_channel NOT IN ('link', 'sms')$a$, $a$p_channel NOT IN ('link', 'sms', 'whatsapp')$a$),
                       $a$channel link or sms$a$, $a$channel link, sms or whatsapp$a$);
    IF new_def = def THEN
        RAISE EXCEPTION '022: herald.record_answer does not read as 013 wrote it';
    END IF;
    EXECUTE new_def;
END
$$;

-- Templates: an approved WhatsApp template (Twilio Content SID) and its variables, each a
-- small template of its own: {"1": "{{client.name}}", "2": "{{event_at.time}}"}.
ALTER TABLE herald.template
    ADD COLUMN content_sid text
        CONSTRAINT template_content_sid CHECK (content_sid IS NULL OR (channel = 'whatsapp' AND content_sid ~ '^HX[0-9a-fA-F]{32}$')),
    ADD COLUMN content_variables jsonb
        CONSTRAINT template_content_variables CHECK (content_variables IS NULL OR (content_sid IS NOT NULL AND jsonb_typeof(content_variables) = 'object'));
COMMENT ON COLUMN herald.template.content_sid IS
    'WhatsApp: the Twilio Content SID (HX…) of the approved template sent outside the 24-hour window; the body is then what Herald records.';
COMMENT ON COLUMN herald.template.content_variables IS
    'WhatsApp: the Content template''s variables, {"1": "{{client.name}}", …}, each rendered as a template.';
ALTER TABLE herald.template_version ADD COLUMN content_sid text, ADD COLUMN content_variables jsonb;
CREATE OR REPLACE FUNCTION herald.template_record_version() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN
        INSERT INTO herald.template_version (key, channel, locale, version, subject, body, html, content_sid, content_variables, author)
        VALUES (NEW.key, NEW.channel, NEW.locale, NEW.version, NEW.subject, NEW.body, NEW.html, NEW.content_sid, NEW.content_variables,
                coalesce(nullif(current_setting('herald.actor', true), ''), session_user))
        ON CONFLICT (key, channel, locale, version) DO UPDATE
           SET subject = EXCLUDED.subject, body = EXCLUDED.body, html = EXCLUDED.html, content_sid = EXCLUDED.content_sid,
               content_variables = EXCLUDED.content_variables, author = EXCLUDED.author, created_at = now();
    END IF;
    RETURN NULL;
END
$$;

-- The 24-hour window: when each number last wrote to the business on WhatsApp.
CREATE TABLE herald.whatsapp_window (
    number          text        PRIMARY KEY,   -- E.164
    last_inbound_at timestamptz NOT NULL,
    inbound_id      bigint                     -- the message that opened it (no foreign key: retention)
);
COMMENT ON TABLE herald.whatsapp_window IS
    'When each number last wrote on WhatsApp: free text may go to it until 24 hours later; outside, only a template with a Content SID.';
GRANT SELECT ON herald.whatsapp_window TO herald_daemon, herald_host, herald_admin, herald_api;

CREATE FUNCTION herald.inbound_opens_window() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    INSERT INTO herald.whatsapp_window (number, last_inbound_at, inbound_id)
    VALUES (NEW.from_address, least(NEW.received_at, now()), NEW.id)
    ON CONFLICT (number) DO UPDATE SET last_inbound_at = EXCLUDED.last_inbound_at, inbound_id = EXCLUDED.inbound_id
     WHERE herald.whatsapp_window.last_inbound_at < EXCLUDED.last_inbound_at;
    RETURN NULL;
END
$$;
CREATE TRIGGER inbound_opens_window AFTER INSERT ON herald.inbound
    FOR EACH ROW WHEN (NEW.channel = 'whatsapp') EXECUTE FUNCTION herald.inbound_opens_window();

-- Fallback.
ALTER TABLE herald.rule ADD COLUMN fallback text
    -- A rule that sends SMS anyway needs no fallback (the client would get two).
    CONSTRAINT rule_fallback_sms CHECK (fallback IS NULL OR (fallback = 'sms' AND 'whatsapp' = ANY (channels) AND NOT 'sms' = ANY (channels)));
COMMENT ON COLUMN herald.rule.fallback IS
    'sms: the rule''s WhatsApp messages that fail, are undelivered or suppressed, or get no delivered receipt in time, go once by SMS (the rule''s channels may not include sms).';
ALTER TABLE herald.message
    ADD COLUMN fallback text CONSTRAINT message_fallback_sms CHECK (fallback IS NULL OR (fallback = 'sms' AND channel = 'whatsapp')),
    ADD COLUMN fallback_of bigint,
    ADD COLUMN fallback_reason text;
COMMENT ON COLUMN herald.message.fallback IS 'WhatsApp: sms to send one SMS copy if this message does not reach the client.';
COMMENT ON COLUMN herald.message.fallback_of IS 'The WhatsApp message this SMS stands in for (written by Herald only).';
COMMENT ON COLUMN herald.message.fallback_reason IS
    'On an SMS fallback: why it went instead of its WhatsApp message; on a WhatsApp message: why it got no SMS (no SMS: …). Written by Herald only.';
CREATE UNIQUE INDEX message_fallback_once ON herald.message (fallback_of) WHERE fallback_of IS NOT NULL;
-- The WhatsApp messages still waiting for a delivered receipt, for the timeout.
CREATE INDEX message_fallback_waiting ON herald.message (sent_at) WHERE fallback IS NOT NULL AND status = 'sent' AND fallback_reason IS NULL;
GRANT INSERT (fallback) ON herald.message TO herald_host;

-- A rule's WhatsApp message carries its rule's fallback and, planned from an event for a
-- contact, follows the contact's changes (herald.enqueue_for_rules marks only SMS and email).
CREATE FUNCTION herald.message_rule_fallback() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF NEW.fallback IS NULL THEN
        NEW.fallback := (SELECT r.fallback FROM herald.rule r WHERE r.name = NEW.rule_name);
    END IF;
    IF NEW.event_id IS NOT NULL AND NEW.contact_id IS NOT NULL THEN
        NEW.follows_contact := true;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER message_rule_fallback BEFORE INSERT ON herald.message
    FOR EACH ROW WHEN (NEW.channel = 'whatsapp' AND NEW.rule_name IS NOT NULL)
    EXECUTE FUNCTION herald.message_rule_fallback();

-- The SMS copy of WhatsApp message p_message, once. It is a new message, due when the
-- WhatsApp was (its send_at, postpone and lead: a reminder suppressed days ahead falls back
-- for its own time, one that failed falls back now), from the rule's or location's SMS
-- sender, to the contact's current phone when the message follows the contact; every check
-- (SMS opt-out, consent, quiet hours, the appointment's start) applies to it.
-- NULL, and no SMS, when the message has one already, has no fallback, was delivered, or
-- when its contact has no phone any more, its rule no longer falls back, or its booking was
-- cancelled, moved, declined or sent back to approval after the message was made (what the
-- SMS would say is no longer true): those last three are written on the WhatsApp message
-- (fallback_reason 'no SMS: …'), which the timeout then leaves alone.
CREATE FUNCTION herald.fall_back(p_message bigint, p_reason text) RETURNS bigint LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    m      herald.message%ROWTYPE;
    phone  text;
    why    text;
    new_id bigint;
BEGIN
    -- Locked: a receipt marking it delivered meanwhile waits, then finds the SMS to withdraw.
    -- A second SMS is stopped by the unique index message_fallback_once (ON CONFLICT).
    SELECT * INTO m FROM herald.message WHERE id = p_message FOR UPDATE;
    IF NOT FOUND OR m.fallback IS DISTINCT FROM 'sms' OR m.channel <> 'whatsapp' OR m.status = 'delivered' THEN
        RETURN NULL;
    END IF;
    phone := CASE WHEN m.follows_contact AND m.contact_id IS NOT NULL
                  THEN (SELECT nullif(herald.normalize_recipient('sms', coalesce(c.phone, '')), '') FROM herald.contact c WHERE c.id = m.contact_id)
                  ELSE coalesce(m.recipient_key, herald.normalize_recipient('whatsapp', m.recipient)) END;
    why := CASE
        WHEN phone IS NULL THEN format('contact %s has no phone any more', m.contact_id)
        WHEN m.rule_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM herald.rule r WHERE r.name = m.rule_name AND r.fallback = 'sms')
            THEN format('rule %s no longer falls back to SMS', m.rule_name)
        WHEN m.subject_type IS NOT NULL AND EXISTS (
               SELECT 1 FROM herald.event e
                WHERE e.subject_type = m.subject_type AND e.subject_id = m.subject_id
                  AND (e.type IN ('cancelled', 'time_changed', 'declined')
                       OR (e.type = 'status_changed' AND herald.event_status(e) IN ('declined', 'pending')))
                  AND CASE WHEN m.event_id IS NOT NULL THEN e.id > m.event_id ELSE e.created_at > m.created_at END)
            THEN format('%s %s was cancelled, moved, declined or sent back to approval after this message was made', m.subject_type, m.subject_id)
    END;
    IF why IS NOT NULL THEN
        UPDATE herald.message w SET fallback_reason = left('no SMS: ' || why, 2000)
         WHERE w.id = m.id AND w.fallback_reason IS NULL AND NOT EXISTS (SELECT 1 FROM herald.message f WHERE f.fallback_of = m.id);
        RETURN NULL;
    END IF;
    INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, min_lead, event_at, expires_at,
                                business_hours_only, urgent, location_id, subject_type, subject_id, contact_id, rule_name, sender,
                                priority, event_id, follows_contact, max_attempts, fallback_of, fallback_reason)
    VALUES ('sms', phone, m.template, m.locale, m.time_zone, m.data, m.send_at, m.postpone, m.min_lead, m.event_at, m.expires_at,
            m.business_hours_only, m.urgent, m.location_id, m.subject_type, m.subject_id, m.contact_id, m.rule_name,
            (SELECT herald.rule_sender(r, e, 'sms') FROM herald.rule r, herald.event e WHERE r.name = m.rule_name AND e.id = m.event_id),
            m.priority, m.event_id, m.follows_contact, m.max_attempts, m.id, left(p_reason, 2000))
    ON CONFLICT DO NOTHING
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;
REVOKE EXECUTE ON FUNCTION herald.fall_back(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.fall_back(bigint, text) TO herald_daemon, herald_admin;

CREATE FUNCTION herald.message_fall_back() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    PERFORM herald.fall_back(NEW.id, format('WhatsApp message %s %s: %s', NEW.id, NEW.status, coalesce(NEW.last_error, 'no reason given')));
    RETURN NULL;
END
$$;
CREATE TRIGGER message_fall_back_on_insert AFTER INSERT ON herald.message
    FOR EACH ROW WHEN (NEW.fallback IS NOT NULL AND NEW.status IN ('failed', 'undelivered', 'suppressed'))
    EXECUTE FUNCTION herald.message_fall_back();
CREATE TRIGGER message_fall_back AFTER UPDATE OF status ON herald.message
    FOR EACH ROW WHEN (NEW.fallback IS NOT NULL AND NEW.status IN ('failed', 'undelivered', 'suppressed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION herald.message_fall_back();

-- WhatsApp delivered after all (a late receipt): its SMS, if it still waits (quiet hours), is
-- cancelled; one that went already stays recorded.
CREATE FUNCTION herald.message_fallback_withdraw() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    UPDATE herald.message
       SET status = 'cancelled', updated_at = now(),
           last_error = format('cancelled: WhatsApp message %s was delivered after all', NEW.id)
     WHERE fallback_of = NEW.id AND status = 'pending';
    RETURN NULL;
END
$$;
CREATE TRIGGER message_fallback_withdraw AFTER UPDATE OF status ON herald.message
    FOR EACH ROW WHEN (NEW.fallback IS NOT NULL AND NEW.status = 'delivered' AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION herald.message_fallback_withdraw();

-- The timeout: WhatsApp messages sent more than p_after ago with no delivered (or read)
-- receipt get their SMS; returns how many. The daemon runs it ([channels.whatsapp] fallback_after).
CREATE FUNCTION herald.fall_back_overdue(p_after interval, p_limit integer DEFAULT 100) RETURNS integer LANGUAGE sql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT count(herald.fall_back(m.id, format('WhatsApp message %s: no delivered receipt within %s of sending', m.id, p_after)))::integer
      FROM (SELECT id FROM herald.message
             WHERE fallback IS NOT NULL AND status = 'sent' AND fallback_reason IS NULL AND sent_at < now() - p_after
               AND NOT EXISTS (SELECT 1 FROM herald.message f WHERE f.fallback_of = herald.message.id)
             ORDER BY sent_at LIMIT greatest(1, least(p_limit, 10000))) m
$$;
REVOKE EXECUTE ON FUNCTION herald.fall_back_overdue(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.fall_back_overdue(interval, integer) TO herald_daemon, herald_admin;

-- On insert, the contact's check knows an SMS fallback (a client who prefers WhatsApp takes it).
CREATE OR REPLACE FUNCTION herald.message_check_contact() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    why text;
BEGIN
    IF NEW.status <> 'pending' THEN
        RETURN NEW;
    END IF;
    why := herald.contact_block(NEW.contact_id, NEW.channel, NEW.fallback_of IS NOT NULL);
    IF why IS NOT NULL THEN
        NEW.status := CASE WHEN NOT EXISTS (SELECT 1 FROM herald.contact WHERE id = NEW.contact_id) THEN 'failed' ELSE 'suppressed' END;
        NEW.last_error := why;
    END IF;
    RETURN NEW;
END
$$;

-- herald.unreachable (021) with WhatsApp: the contact's phone, on its own channel, for the
-- contacts asked about WhatsApp (whatsapp_consent set) or preferring it.
CREATE OR REPLACE VIEW herald.unreachable AS
SELECT a.contact_id, a.channel, a.address, r.reason, r.detail, r.since, r.message_id
  FROM (SELECT c.id AS contact_id, ch.channel, CASE ch.channel WHEN 'email' THEN c.email ELSE c.phone END AS address,
               herald.normalize_recipient(ch.channel, coalesce(CASE ch.channel WHEN 'email' THEN c.email ELSE c.phone END, '')) AS key
          FROM herald.contact c CROSS JOIN (VALUES ('email'), ('sms'), ('whatsapp')) AS ch(channel)
         -- WhatsApp only for the contacts asked about it: a business without WhatsApp sees no noise.
         WHERE ch.channel <> 'whatsapp' OR c.whatsapp_consent IS NOT NULL OR c.preference = 'whatsapp') a
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
         WHERE a.channel IN ('sms', 'whatsapp') AND a.key <> '' AND a.key !~ '^\+[1-9][0-9]{6,14}$'
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

-- The subject's feed (011) says which of WhatsApp and its SMS went, and why.
CREATE OR REPLACE VIEW herald.subject_feed AS
SELECT m.subject_type, m.subject_id, m.id AS message_id, m.contact_id, m.channel, m.recipient, m.template,
       m.status, m.created_at, m.send_at + m.postpone AS planned_at, m.next_attempt_at, m.sent_at, m.delivered_at,
       m.attempts, m.last_error, m.provider_message_id,
       CASE WHEN m.fallback_of IS NOT NULL THEN format('SMS fallback of WhatsApp message %s: %s', m.fallback_of, m.fallback_reason)
            WHEN f.id IS NOT NULL THEN format('fell back to SMS message %s', f.id)
            WHEN m.fallback IS NOT NULL THEN m.fallback_reason END AS fallback
  FROM herald.message m LEFT JOIN herald.message f ON f.fallback_of = m.id
 WHERE m.subject_type IS NOT NULL;
