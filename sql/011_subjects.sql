-- Subjects and contacts: which appointment (work order, lead, …) a message is about, and
-- the client it goes to, with their channel preference and consent, checked when the
-- message is created and again when it is claimed.

ALTER TABLE herald.message
    ADD COLUMN subject_type text,   -- 'appointment', 'work_order', 'lead', or any name
    ADD COLUMN subject_id   text,   -- the host's id of that appointment, work order, …
    ADD COLUMN contact_id   text;   -- herald.contact.id: preference and consent apply

ALTER TABLE herald.message ADD CONSTRAINT message_subject_whole
    CHECK ((subject_type IS NULL) = (subject_id IS NULL));

-- Only messages with a subject are indexed: the plain outbox pays nothing for it.
CREATE INDEX message_subject_idx ON herald.message (subject_type, subject_id, id) WHERE subject_type IS NOT NULL;

COMMENT ON COLUMN herald.message.subject_type IS 'What the message is about (appointment, work_order, lead, …), with subject_id.';
COMMENT ON COLUMN herald.message.contact_id IS 'The client (herald.contact): their preference and consent are checked on insert and at claim.';

-- The host's clients: upserted by id.
CREATE TABLE herald.contact (
    id            text PRIMARY KEY,
    name          text,
    email         text,
    phone         text,
    locale        text,
    time_zone     text,
    -- Which channels the client wants: email, sms, both, or none.
    preference    text NOT NULL DEFAULT 'both' CHECK (preference IN ('email', 'sms', 'both', 'none')),
    -- Opt-in where the business asks for it ("accepts SMS"): true, false, or NULL = not asked.
    sms_consent   boolean,
    email_consent boolean,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE herald.contact IS
    'Clients, upserted by the host. preference and *_consent = false suppress messages to them on a channel, also ones created earlier.';

-- Why a message on `channel` may not go to contact `contact` now; NULL when it may.
-- Webhooks are system integrations: preference and consent do not apply to them.
CREATE FUNCTION herald.contact_block(p_contact text, p_channel text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_channel NOT IN ('sms', 'email') THEN NULL
        WHEN c.id IS NULL THEN format('contact %s does not exist', p_contact)
        WHEN c.preference = 'none' THEN format('contact %s wants no messages (preference none)', c.id)
        WHEN c.preference NOT IN (p_channel, 'both') THEN format('contact %s prefers %s, not %s', c.id, c.preference, p_channel)
        WHEN p_channel = 'sms' AND c.sms_consent IS FALSE THEN format('contact %s has not consented to sms', c.id)
        WHEN p_channel = 'email' AND c.email_consent IS FALSE THEN format('contact %s has not consented to email', c.id)
    END
      FROM (SELECT 1) AS one LEFT JOIN herald.contact c ON c.id = p_contact
$$;

-- On insert: an unknown contact fails the message (bad input); a preference or consent
-- that excludes the channel suppresses it, with the reason.
CREATE FUNCTION herald.message_check_contact() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    why text;
BEGIN
    IF NEW.status <> 'pending' THEN
        RETURN NEW;
    END IF;
    why := herald.contact_block(NEW.contact_id, NEW.channel);
    IF why IS NOT NULL THEN
        NEW.status := CASE WHEN NOT EXISTS (SELECT 1 FROM herald.contact WHERE id = NEW.contact_id) THEN 'failed' ELSE 'suppressed' END;
        NEW.last_error := why;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER message_contact BEFORE INSERT ON herald.message
    FOR EACH ROW WHEN (NEW.contact_id IS NOT NULL) EXECUTE FUNCTION herald.message_check_contact();

-- Cancels a subject's pending messages (an appointment cancelled or moved); returns how
-- many. Messages already being handed to a provider (sending) finish. Their dedupe_key is
-- freed, as when a message is superseded, so the same key can be used again.
CREATE FUNCTION herald.cancel_subject(p_subject_type text, p_subject_id text, p_reason text DEFAULT NULL) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    WITH gone AS (
        UPDATE herald.message
           SET status = 'cancelled', updated_at = now(), dedupe_key = NULL,
               last_error = format('cancelled with %s %s by %s: %s', p_subject_type, p_subject_id, session_user,
                                   coalesce(p_reason, 'no reason given'))
         WHERE subject_type = p_subject_type AND subject_id = p_subject_id AND status = 'pending'
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;

-- What a support agent reads when "the client says they never got it": every message of a
-- subject, with its status, times and last error.
CREATE VIEW herald.subject_feed AS
SELECT m.subject_type, m.subject_id, m.id AS message_id, m.contact_id, m.channel, m.recipient, m.template,
       m.status, m.created_at, m.send_at + m.postpone AS planned_at, m.next_attempt_at, m.sent_at, m.delivered_at,
       m.attempts, m.last_error, m.provider_message_id
  FROM herald.message m
 WHERE m.subject_type IS NOT NULL;

COMMENT ON VIEW herald.subject_feed IS
    'Every message of each subject (SELECT … WHERE subject_type = ''appointment'' AND subject_id = ''A-1042'' ORDER BY created_at).';

GRANT INSERT (subject_type, subject_id, contact_id) ON herald.message TO herald_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.contact TO herald_host, herald_admin;
GRANT SELECT ON herald.contact TO herald_daemon;
GRANT SELECT ON herald.subject_feed TO herald_host, herald_admin, herald_daemon;
REVOKE EXECUTE ON FUNCTION herald.cancel_subject(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.cancel_subject(text, text, text) TO herald_host, herald_admin;
