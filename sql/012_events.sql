-- Events and rules: the host records what happened to an appointment (work order, lead);
-- Herald's rules turn it into the right messages at the right times.

-- What happened. The host inserts (herald.record_event makes the common cases one line);
-- Herald fills state, processed_at and error.
CREATE TABLE herald.event (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    subject_type       text        NOT NULL,   -- appointment, work_order, lead, or any name
    subject_id         text        NOT NULL,
    type               text        NOT NULL,   -- created, status_changed, time_changed, cancelled, completed
    status             text,
    previous_status    text,
    starts_at          timestamptz,
    previous_starts_at timestamptz,
    ends_at            timestamptz,
    location_id        text,
    contact_id         text,
    data               jsonb       NOT NULL DEFAULT '{}',
    state              text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    processed_at       timestamptz,
    error              text
);
CREATE INDEX event_pending ON herald.event (id) WHERE state = 'pending';
CREATE INDEX event_subject ON herald.event (subject_type, subject_id, id);
COMMENT ON TABLE herald.event IS
    'What happened to a subject (appointment, work order, lead). Herald expands each pending event into messages by herald.rule, once.';

CREATE FUNCTION herald.event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_event', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER event_notify AFTER INSERT ON herald.event FOR EACH STATEMENT EXECUTE FUNCTION herald.event_notify();

-- The rules a business configures (herald rules install-defaults seeds a set).
CREATE TABLE herald.rule (
    name                text        PRIMARY KEY,
    enabled             boolean     NOT NULL DEFAULT true,
    subject_type        text        NOT NULL,
    on_event            text        NOT NULL,   -- the event type that triggers it
    to_status           text,                   -- with status_changed: only when the new status is this (NULL: any)
    channels            text[]      NOT NULL DEFAULT '{sms,email}',
    template            text        NOT NULL,
    send_before         interval,               -- a reminder: starts_at - send_before, in the message's zone
    send_after          interval,               -- after the visit: (ends_at or starts_at) + send_after
    postpone            interval    NOT NULL DEFAULT '0',
    business_hours_only boolean     NOT NULL DEFAULT false,
    urgent              boolean     NOT NULL DEFAULT false,
    location_ids        text[],                 -- NULL: every location
    email_from          text,                   -- overrides the channel's sender for this rule
    sms_from            text,
    recipient           text        NOT NULL DEFAULT 'client' CHECK (recipient IN ('client', 'staff')),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (send_before IS NULL OR send_after IS NULL),
    CHECK (channels <@ ARRAY['sms', 'email', 'webhook'] AND cardinality(channels) > 0),
    -- A rule with a typo would never match: the names are checked when it is written.
    CONSTRAINT rule_subject_type_is_a_name CHECK (subject_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT rule_on_event_is_an_event_type
        CHECK (on_event IN ('created', 'status_changed', 'time_changed', 'cancelled', 'completed', 'confirmed', 'declined')),
    CONSTRAINT rule_to_status_is_a_name CHECK (to_status IS NULL OR to_status ~ '^[A-Za-z0-9][A-Za-z0-9_ .-]{0,63}$'),
    CONSTRAINT rule_template_is_a_key CHECK (template ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$')
);
COMMENT ON TABLE herald.rule IS
    'Notification rules: on an event of a subject type (and status), which template goes by which channels, and when.';

-- Where staff notices go, and a location's own senders.
ALTER TABLE herald.location
    ADD COLUMN staff_email text,
    ADD COLUMN staff_phone text,
    ADD COLUMN email_from  text,
    ADD COLUMN sms_from    text;

-- Which rule made a message, and the sender it goes out as (NULL: the channel's).
ALTER TABLE herald.message
    ADD COLUMN rule_name text,
    ADD COLUMN sender    text;

-- What expanding each event did: messages created, skipped (with the reason), cancelled.
CREATE TABLE herald.event_outcome (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   bigint      NOT NULL,
    rule_name  text,
    channel    text,
    action     text        NOT NULL CHECK (action IN ('created', 'skipped', 'cancelled')),
    message_id bigint,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_outcome_event ON herald.event_outcome (event_id);

-- The common cases in one line:
--   SELECT herald.record_event('appointment', 'A-1042', 'created', starts_at => '2026-05-10 13:00+02',
--                              contact_id => 'client-88', location_id => 'sol', status => 'confirmed');
CREATE FUNCTION herald.record_event(
    subject_type text, subject_id text, type text,
    starts_at timestamptz DEFAULT NULL, contact_id text DEFAULT NULL, location_id text DEFAULT NULL,
    status text DEFAULT NULL, previous_status text DEFAULT NULL, previous_starts_at timestamptz DEFAULT NULL,
    ends_at timestamptz DEFAULT NULL, data jsonb DEFAULT '{}'
) RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO herald.event (subject_type, subject_id, type, starts_at, contact_id, location_id, status, previous_status,
                              previous_starts_at, ends_at, data)
    VALUES (subject_type, subject_id, type, starts_at, contact_id, location_id, status, previous_status,
            previous_starts_at, ends_at, coalesce(data, '{}'))
    RETURNING id
$$;

GRANT SELECT, INSERT ON herald.event TO herald_host;
GRANT SELECT, UPDATE ON herald.event TO herald_daemon;
GRANT SELECT ON herald.rule TO herald_host, herald_daemon;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.rule, herald.event, herald.event_outcome TO herald_admin;
GRANT SELECT, INSERT ON herald.event_outcome TO herald_daemon;
GRANT SELECT ON herald.event_outcome TO herald_host;
GRANT INSERT (rule_name, sender) ON herald.message TO herald_host;
GRANT EXECUTE ON FUNCTION herald.record_event(text, text, text, timestamptz, text, text, text, text, timestamptz, timestamptz, jsonb)
    TO herald_host, herald_admin;

-- The daemon may not INSERT messages (007): it enqueues what a rule calls for through this
-- function, which takes the template, postpone, business hours and urgency from the rule
-- and the subject from the event, so the daemon cannot enqueue anything no rule says.
-- Returns the new message's id, or NULL when a message with that dedupe_key exists (an
-- event replayed).
CREATE FUNCTION herald.enqueue_for_rule(
    p_event bigint, p_rule text, p_channel text, p_recipient text, p_locale text, p_time_zone text, p_data jsonb,
    p_send_at timestamptz, p_event_at timestamptz, p_location_id text, p_contact_id text, p_sender text, p_dedupe_key text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    r herald.rule%ROWTYPE;
    e herald.event%ROWTYPE;
    new_id bigint;
BEGIN
    SELECT * INTO r FROM herald.rule WHERE name = p_rule;
    SELECT * INTO e FROM herald.event WHERE id = p_event;
    IF r.name IS NULL OR e.id IS NULL OR NOT r.enabled OR r.subject_type <> e.subject_type OR NOT (p_channel = ANY (r.channels)) THEN
        RAISE EXCEPTION 'herald.enqueue_for_rule: rule % does not apply to event % on channel %', p_rule, p_event, p_channel;
    END IF;
    IF EXISTS (SELECT 1 FROM herald.message WHERE dedupe_key = p_dedupe_key) THEN
        RETURN NULL;
    END IF;
    INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, event_at,
                                business_hours_only, urgent, location_id, subject_type, subject_id, contact_id, rule_name,
                                sender, dedupe_key)
    VALUES (p_channel, p_recipient, r.template, p_locale, p_time_zone, coalesce(p_data, '{}'), coalesce(p_send_at, now()),
            r.postpone, p_event_at, r.business_hours_only, r.urgent, p_location_id, e.subject_type, e.subject_id, p_contact_id,
            r.name, p_sender, p_dedupe_key)
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- Cancels the pending messages of an event's subject: all of them (the subject was
-- cancelled), or only those made by reminder rules (its time changed). Returns their ids.
CREATE FUNCTION herald.cancel_for_event(p_event bigint, p_reminders_only boolean) RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    UPDATE herald.message m
       SET status = 'cancelled', updated_at = now(), dedupe_key = NULL,
           last_error = format('cancelled by event %s (%s %s %s)', e.id, e.subject_type, e.subject_id, e.type)
      FROM herald.event e
     WHERE e.id = p_event AND m.subject_type = e.subject_type AND m.subject_id = e.subject_id AND m.status = 'pending'
       AND (NOT p_reminders_only
            OR m.rule_name IN (SELECT name FROM herald.rule WHERE send_before IS NOT NULL))
    RETURNING m.id
$$;

REVOKE EXECUTE ON FUNCTION herald.enqueue_for_rule(bigint, text, text, text, text, text, jsonb, timestamptz, timestamptz, text, text, text, text),
                           herald.cancel_for_event(bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.enqueue_for_rule(bigint, text, text, text, text, text, jsonb, timestamptz, timestamptz, text, text, text, text),
                          herald.cancel_for_event(bigint, boolean) TO herald_daemon, herald_admin;
