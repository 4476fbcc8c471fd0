-- Booking lifecycle (issue 22): priority among due messages, the event a rule made a
-- message from, messages that follow their contact, rules whose edits re-plan what they
-- planned, and recall ("we have not seen you for 8 weeks").

-- 1. Priority. 3 urgent (cancellations, time changes, a business's decline, anything
--    urgent), 2 notices (confirmations, acknowledgements, status; the default), 1 reminders,
--    0 feedback and recall. Among due messages the claim takes the higher first.
ALTER TABLE herald.message
    ADD COLUMN priority        smallint NOT NULL DEFAULT 2 CONSTRAINT message_priority_range CHECK (priority BETWEEN 0 AND 3),
    ADD COLUMN event_id        bigint,                          -- the herald.event a rule made it from
    ADD COLUMN follows_contact boolean  NOT NULL DEFAULT false; -- recipient, locale, zone and client.* follow herald.contact
COMMENT ON COLUMN herald.message.priority IS
    '3 urgent, 2 notices (default), 1 reminders, 0 feedback and recall; urgent = true implies 3. The claim takes higher first among due messages.';
COMMENT ON COLUMN herald.message.follows_contact IS
    'Set by herald.enqueue_for_rule for a client message: when herald.contact changes, this pending message follows (address, locale, zone, client.*).';

-- The claim reads one short range per priority (due rows, oldest first): its cost stays
-- flat however many future rows wait at any level.
DROP INDEX herald.message_due_idx;
CREATE INDEX message_due_idx ON herald.message (priority, next_attempt_at, id) WHERE status = 'pending';
-- A contact's pending messages that follow it (only those rows are indexed).
CREATE INDEX message_follows_contact_idx ON herald.message (contact_id) WHERE status = 'pending' AND follows_contact;
-- Re-planning a rule finds its pending messages.
CREATE INDEX message_rule_pending_idx ON herald.message (rule_name) WHERE status = 'pending' AND rule_name IS NOT NULL;
-- Recall: a contact's bookings.
CREATE INDEX event_contact ON herald.event (contact_id, id) WHERE contact_id IS NOT NULL;

ALTER TABLE herald.rule
    ADD COLUMN priority smallint CONSTRAINT rule_priority_range CHECK (priority BETWEEN 0 AND 3),  -- NULL: by its kind
    ADD COLUMN recall   boolean  NOT NULL DEFAULT false,
    -- A recall is always of the lowest priority: the claim's check that the client has not
    -- booked again looks at priority 0 only.
    ADD CONSTRAINT rule_recall_kind CHECK (NOT recall OR (on_event = 'completed' AND send_after IS NOT NULL AND recipient = 'client'
                                                          AND NOT urgent AND coalesce(priority, 0) = 0));
COMMENT ON COLUMN herald.rule.recall IS
    'A recall: send_after after a contact''s completed visit (per location), never once the contact has booked again.';

-- A rule's priority: its own, else by its kind.
CREATE FUNCTION herald.rule_priority(r herald.rule) RETURNS smallint LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT coalesce(r.priority, CASE
        WHEN r.urgent OR r.on_event IN ('cancelled', 'time_changed') OR r.to_status IN ('declined', 'rejected') THEN 3
        WHEN r.recall OR r.send_after IS NOT NULL THEN 0
        WHEN r.send_before IS NOT NULL THEN 1
        ELSE 2 END)::smallint
$$;

-- The status the rules compare (seed 002): the event's own, else (but for `created`) its
-- booking's last recorded one, else `confirmed` for an appointment; trimmed and lower-case;
-- an appointment's `rejected` reads `declined`, `approved` and `accepted` read `confirmed`.
CREATE FUNCTION herald.event_status(e herald.event) RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT CASE WHEN e.subject_type = 'appointment' THEN
                CASE x.s WHEN 'rejected' THEN 'declined' WHEN 'approved' THEN 'confirmed' WHEN 'accepted' THEN 'confirmed' ELSE x.s END
           ELSE x.s END
      FROM (SELECT lower(btrim(coalesce(e.status,
                CASE WHEN e.type <> 'created' THEN
                    (SELECT p.status FROM herald.event p
                      WHERE p.subject_type = e.subject_type AND p.subject_id = e.subject_id AND p.id < e.id AND p.status IS NOT NULL
                      ORDER BY p.id DESC LIMIT 1) END,
                CASE WHEN e.subject_type = 'appointment' THEN 'confirmed' END))) AS s) x
$$;

-- The start the rules count from: the event's own, else (but for `created`) its booking's
-- last recorded one (an approval recorded without starts_at still gets its reminders).
CREATE FUNCTION herald.event_starts_at(e herald.event) RETURNS timestamptz LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT coalesce(e.starts_at,
        CASE WHEN e.type <> 'created' THEN
            (SELECT p.starts_at FROM herald.event p
              WHERE p.subject_type = e.subject_type AND p.subject_id = e.subject_id AND p.id < e.id AND p.starts_at IS NOT NULL
              ORDER BY p.id DESC LIMIT 1) END)
$$;

-- Who a rule's message for an event goes to on a channel: the event's contact's phone or
-- email, or the location's staff address. The daemon cannot choose another.
CREATE FUNCTION herald.rule_recipient(r herald.rule, e herald.event, p_channel text) RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT CASE WHEN r.recipient = 'staff' THEN
               (SELECT CASE p_channel WHEN 'email' THEN l.staff_email WHEN 'sms' THEN l.staff_phone END FROM herald.location l WHERE l.id = e.location_id)
           ELSE (SELECT CASE p_channel WHEN 'email' THEN c.email WHEN 'sms' THEN c.phone END FROM herald.contact c WHERE c.id = e.contact_id) END
$$;

-- The appointment's start a rule's message carries (its cutoff): none after the visit
-- (`send_after`), and none for a start that is not a finite instant (the planner reads
-- those as missing too).
CREATE FUNCTION herald.rule_event_at(r herald.rule, e herald.event) RETURNS timestamptz LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT CASE WHEN r.send_after IS NULL AND isfinite(s.at) THEN s.at END FROM (SELECT herald.event_starts_at(e) AS at) s
$$;

-- The sender of a rule's message: the rule's, else the event's location's; NULL: the channel's.
CREATE FUNCTION herald.rule_sender(r herald.rule, e herald.event, p_channel text) RETURNS text LANGUAGE sql STABLE
SET search_path = pg_catalog, herald AS $$
    SELECT CASE p_channel WHEN 'email' THEN coalesce(r.email_from, l.email_from) WHEN 'sms' THEN coalesce(r.sms_from, l.sms_from) END
      FROM (SELECT 1) one LEFT JOIN herald.location l ON l.id = e.location_id
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

UPDATE herald.message SET priority = 3 WHERE urgent AND status IN ('pending', 'sending');
UPDATE herald.message m SET priority = herald.rule_priority(r)
  FROM herald.rule r WHERE m.rule_name = r.name AND m.status = 'pending' AND NOT m.urgent;
UPDATE herald.message m SET event_id = o.event_id
  FROM herald.event_outcome o WHERE o.message_id = m.id AND o.action = 'created' AND m.status = 'pending';
UPDATE herald.message SET follows_contact = true
 WHERE status = 'pending' AND rule_name IS NOT NULL AND contact_id IS NOT NULL AND event_id IS NOT NULL;

GRANT INSERT (priority) ON herald.message TO herald_host;

-- 2. Rule messages: the event they come from, their priority, and the contact they follow.
DROP FUNCTION herald.enqueue_for_rule(bigint, text, text, text, text, text, jsonb, timestamptz, timestamptz, text, text, text, text);
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
    -- A client message goes to the event's contact, a staff notice to no contact.
    IF (r.recipient = 'client' AND p_contact_id IS DISTINCT FROM e.contact_id) OR (r.recipient <> 'client' AND p_contact_id IS NOT NULL) THEN
        RAISE EXCEPTION 'herald.enqueue_for_rule: contact % is not the % of event %', p_contact_id, r.recipient, p_event;
    END IF;
    -- The address is the contact's (or the staff's) for that channel, nothing else; the
    -- sender and the appointment's start are taken from the rule, location and event.
    IF p_recipient IS DISTINCT FROM herald.rule_recipient(r, e, p_channel) THEN
        RAISE EXCEPTION 'herald.enqueue_for_rule: % is not the % address of event % on %', p_recipient, r.recipient, p_event, p_channel;
    END IF;
    IF EXISTS (SELECT 1 FROM herald.message WHERE dedupe_key = p_dedupe_key) THEN
        RETURN NULL;
    END IF;
    INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, event_at,
                                business_hours_only, urgent, location_id, subject_type, subject_id, contact_id, rule_name,
                                sender, dedupe_key, priority, event_id, follows_contact)
    VALUES (p_channel, p_recipient, r.template, p_locale, p_time_zone, coalesce(p_data, '{}'), coalesce(p_send_at, now()),
            r.postpone, herald.rule_event_at(r, e), r.business_hours_only, r.urgent,
            e.location_id, e.subject_type, e.subject_id, p_contact_id, r.name, herald.rule_sender(r, e, p_channel), p_dedupe_key,
            herald.rule_priority(r), e.id, p_contact_id IS NOT NULL AND p_channel IN ('sms', 'email'))
    RETURNING id INTO new_id;
    RETURN new_id;
END
$$;

-- 3. A contact's changes reach its pending rule messages: a new number or address, locale,
--    zone (how times are written and quiet hours; the planned instant stays) and the
--    client.* fields copied from it. An address removed suppresses them with the reason.
CREATE FUNCTION herald.contact_follow() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    UPDATE herald.message m
       SET status = 'suppressed', updated_at = now(),
           last_error = format('contact %s has no %s any more (removed after this message was planned)',
                               NEW.id, CASE m.channel WHEN 'sms' THEN 'phone number' ELSE 'email address' END)
     WHERE m.contact_id = NEW.id AND m.status = 'pending' AND m.follows_contact
       AND CASE m.channel WHEN 'sms' THEN nullif(btrim(NEW.phone), '') WHEN 'email' THEN nullif(btrim(NEW.email), '') END IS NULL;
    UPDATE herald.message m
       SET recipient = CASE m.channel WHEN 'sms' THEN NEW.phone ELSE NEW.email END,
           locale = NEW.locale, time_zone = NEW.time_zone, updated_at = now(),
           data = CASE WHEN jsonb_typeof(m.data -> 'client') = 'object' THEN
                      m.data || jsonb_build_object('client', (m.data -> 'client') || jsonb_strip_nulls(jsonb_build_object(
                          'name',  CASE WHEN m.data -> 'client' ->> 'name'  IS NOT DISTINCT FROM OLD.name  THEN NEW.name END,
                          'phone', CASE WHEN m.data -> 'client' ->> 'phone' IS NOT DISTINCT FROM OLD.phone THEN NEW.phone END,
                          'email', CASE WHEN m.data -> 'client' ->> 'email' IS NOT DISTINCT FROM OLD.email THEN NEW.email END)))
                  ELSE m.data END
     WHERE m.contact_id = NEW.id AND m.status = 'pending' AND m.follows_contact AND m.channel IN ('sms', 'email');
    RETURN NULL;
END
$$;
CREATE TRIGGER contact_follow AFTER UPDATE OF name, email, phone, locale, time_zone ON herald.contact
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
                       OR OLD.phone IS DISTINCT FROM NEW.phone OR OLD.locale IS DISTINCT FROM NEW.locale
                       OR OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION herald.contact_follow();

-- 4. Rule edits: every change that alters what a rule plans is queued here; the daemon's
--    expander re-plans the rule's pending messages and logs each change in
--    herald.rule_edit_outcome. A renamed rule keeps its messages.
CREATE TABLE herald.rule_edit (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_name    text        NOT NULL,
    changed      text[]      NOT NULL,   -- the columns that changed, or {deleted}
    edited_by    text        NOT NULL DEFAULT session_user,
    created_at   timestamptz NOT NULL DEFAULT now(),
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    processed_at timestamptz,
    error        text
);
CREATE INDEX rule_edit_pending ON herald.rule_edit (id) WHERE state = 'pending';
COMMENT ON TABLE herald.rule_edit IS 'Rule changes waiting to re-plan (pending) or re-planned (done, failed), with who made them.';

CREATE TABLE herald.rule_edit_outcome (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    edit_id    bigint      NOT NULL,
    rule_name  text        NOT NULL,
    channel    text,
    action     text        NOT NULL CHECK (action IN ('moved', 'updated', 'cancelled', 'created', 'skipped')),
    message_id bigint,
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_edit_outcome_edit ON herald.rule_edit_outcome (edit_id);
CREATE INDEX rule_edit_outcome_message ON herald.rule_edit_outcome (message_id) WHERE message_id IS NOT NULL;
COMMENT ON TABLE herald.rule_edit_outcome IS 'What re-planning after a rule edit did to each pending message: moved, updated, cancelled, created, skipped.';

CREATE FUNCTION herald.rule_edited() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    cols text[] := '{}';
BEGIN
    IF TG_OP = 'DELETE' THEN
        cols := '{deleted}';
    ELSE
        IF OLD.name <> NEW.name THEN
            -- Its messages (all of them: their dedupe keys keep a replayed event from sending
            -- twice) and its queued edits follow the new name.
            UPDATE herald.message
               SET rule_name = NEW.name, updated_at = now(),
                   dedupe_key = CASE WHEN left(dedupe_key, length('herald:rule:' || OLD.name || ':')) = 'herald:rule:' || OLD.name || ':'
                                     THEN 'herald:rule:' || NEW.name || ':' || substr(dedupe_key, length('herald:rule:' || OLD.name || ':') + 1)
                                     ELSE dedupe_key END
             WHERE rule_name = OLD.name;
            UPDATE herald.rule_edit SET rule_name = NEW.name WHERE rule_name = OLD.name AND state = 'pending';
        END IF;
        IF OLD.enabled IS DISTINCT FROM NEW.enabled THEN cols := cols || 'enabled'::text; END IF;
        IF OLD.subject_type IS DISTINCT FROM NEW.subject_type THEN cols := cols || 'subject_type'::text; END IF;
        IF OLD.on_event IS DISTINCT FROM NEW.on_event THEN cols := cols || 'on_event'::text; END IF;
        IF OLD.to_status IS DISTINCT FROM NEW.to_status THEN cols := cols || 'to_status'::text; END IF;
        IF OLD.channels IS DISTINCT FROM NEW.channels THEN cols := cols || 'channels'::text; END IF;
        IF OLD.template IS DISTINCT FROM NEW.template THEN cols := cols || 'template'::text; END IF;
        IF OLD.send_before IS DISTINCT FROM NEW.send_before THEN cols := cols || 'send_before'::text; END IF;
        IF OLD.send_after IS DISTINCT FROM NEW.send_after THEN cols := cols || 'send_after'::text; END IF;
        IF OLD.postpone IS DISTINCT FROM NEW.postpone THEN cols := cols || 'postpone'::text; END IF;
        IF OLD.business_hours_only IS DISTINCT FROM NEW.business_hours_only THEN cols := cols || 'business_hours_only'::text; END IF;
        IF OLD.urgent IS DISTINCT FROM NEW.urgent THEN cols := cols || 'urgent'::text; END IF;
        IF OLD.location_ids IS DISTINCT FROM NEW.location_ids THEN cols := cols || 'location_ids'::text; END IF;
        IF OLD.email_from IS DISTINCT FROM NEW.email_from THEN cols := cols || 'email_from'::text; END IF;
        IF OLD.sms_from IS DISTINCT FROM NEW.sms_from THEN cols := cols || 'sms_from'::text; END IF;
        IF OLD.recipient IS DISTINCT FROM NEW.recipient THEN cols := cols || 'recipient'::text; END IF;
        IF OLD.priority IS DISTINCT FROM NEW.priority THEN cols := cols || 'priority'::text; END IF;
        IF OLD.recall IS DISTINCT FROM NEW.recall THEN cols := cols || 'recall'::text; END IF;
    END IF;
    IF cardinality(cols) > 0 THEN
        INSERT INTO herald.rule_edit (rule_name, changed) VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END, cols);
        PERFORM pg_notify('herald_event', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER rule_edited AFTER UPDATE OR DELETE ON herald.rule FOR EACH ROW EXECUTE FUNCTION herald.rule_edited();

-- Re-plans one pending message of a rule to what the rule says now: template, times,
-- postpone, hours, urgency and priority from the rule; the address checked, the sender and
-- the start taken from the rule, location and event.
-- A message no longer pending (being sent, finished) is left alone: returns false.
CREATE FUNCTION herald.replan_message(p_message bigint, p_rule text, p_recipient text, p_send_at timestamptz) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    r herald.rule%ROWTYPE;
    e herald.event%ROWTYPE;
BEGIN
    SELECT * INTO r FROM herald.rule WHERE name = p_rule AND enabled;
    IF r.name IS NULL THEN
        RAISE EXCEPTION 'herald.replan_message: rule % is not enabled', p_rule;
    END IF;
    SELECT ev.* INTO e FROM herald.event ev JOIN herald.message m ON m.event_id = ev.id WHERE m.id = p_message;
    IF e.id IS NULL THEN
        RAISE EXCEPTION 'herald.replan_message: message % has no event to re-plan from', p_message;
    END IF;
    -- As for a new message: the address is the contact's or the staff's, the sender and
    -- the start come from the rule, location and event.
    IF p_recipient IS DISTINCT FROM herald.rule_recipient(r, e, (SELECT channel FROM herald.message WHERE id = p_message)) THEN
        RAISE EXCEPTION 'herald.replan_message: % is not the % address of event %', p_recipient, r.recipient, e.id;
    END IF;
    UPDATE herald.message m
       SET template = r.template, postpone = r.postpone, business_hours_only = r.business_hours_only, urgent = r.urgent,
           priority = CASE WHEN r.urgent THEN 3 ELSE herald.rule_priority(r) END,
           next_attempt_at = CASE WHEN coalesce(p_send_at, m.send_at) + r.postpone IS DISTINCT FROM m.send_at + m.postpone
                                  THEN coalesce(p_send_at, m.send_at) + r.postpone ELSE m.next_attempt_at END,
           send_at = coalesce(p_send_at, m.send_at), event_at = herald.rule_event_at(r, e),
           recipient = p_recipient, sender = herald.rule_sender(r, e, m.channel), updated_at = now()
     WHERE m.id = p_message AND m.rule_name = p_rule AND m.status = 'pending' AND m.channel = ANY (r.channels);
    RETURN FOUND;
END
$$;

-- Cancels one pending message of a rule after an edit, with the reason.
CREATE FUNCTION herald.cancel_for_rule(p_message bigint, p_rule text, p_reason text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    UPDATE herald.message SET status = 'cancelled', dedupe_key = NULL, updated_at = now(), last_error = left(p_reason, 2000)
     WHERE id = p_message AND rule_name = p_rule AND status = 'pending'
    RETURNING true
$$;

-- 5. Recall. The pending recalls of the event's contact (at the event's location) are
--    cancelled when the contact books, moves or completes another visit. Returns their ids.
CREATE FUNCTION herald.cancel_recalls(p_event bigint, p_reason text) RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    UPDATE herald.message m
       SET status = 'cancelled', dedupe_key = NULL, updated_at = now(), last_error = left(p_reason, 2000)
      FROM herald.event e
     WHERE e.id = p_event AND e.contact_id IS NOT NULL AND m.contact_id = e.contact_id AND m.status = 'pending' AND m.follows_contact
       AND m.location_id IS NOT DISTINCT FROM e.location_id AND m.event_id < e.id
       AND m.rule_name IN (SELECT name FROM herald.rule WHERE recall)
    RETURNING m.id
$$;

-- Why a recall must not go now: the contact booked since its visit, or has a booking
-- upcoming (a later event of another appointment at the same location). NULL when it may.
CREATE FUNCTION herald.recall_block(p_rule text, p_contact text, p_location text, p_event bigint, p_subject text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT format('the client booked again since (%s %s, event %s)', e.subject_type, e.subject_id, e.id)
      FROM herald.event e
     WHERE EXISTS (SELECT 1 FROM herald.rule WHERE name = p_rule AND recall)
       AND e.contact_id = p_contact AND e.id > p_event AND e.location_id IS NOT DISTINCT FROM p_location
       AND NOT (e.subject_type = 'appointment' AND e.subject_id = p_subject)
       AND e.type IN ('created', 'time_changed', 'completed', 'confirmed')
     ORDER BY e.id LIMIT 1
$$;

-- The contact's next booking at a location, other than `p_subject`: the appointments whose
-- latest event is not a cancellation, a decline or a visit completed, and that start after
-- `p_after`. Text for a reason, or NULL.
CREATE FUNCTION herald.upcoming_booking(p_contact text, p_location text, p_subject text, p_after timestamptz) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT format('the client has a booking upcoming (appointment %s on %s)', l.subject_id, l.starts_at)
      FROM (SELECT DISTINCT ON (e.subject_id) e.subject_id, e.type, e.status,
                   (SELECT p.starts_at FROM herald.event p WHERE p.subject_type = 'appointment' AND p.subject_id = e.subject_id
                       AND p.starts_at IS NOT NULL ORDER BY p.id DESC LIMIT 1) AS starts_at
              FROM herald.event e
             WHERE e.contact_id = p_contact AND e.subject_type = 'appointment' AND e.subject_id <> p_subject
               AND e.location_id IS NOT DISTINCT FROM p_location
             ORDER BY e.subject_id, e.id DESC) l
     WHERE l.type NOT IN ('cancelled', 'completed') AND coalesce(l.status, '') NOT IN ('declined', 'rejected', 'cancelled')
       AND l.starts_at > p_after
     ORDER BY l.starts_at LIMIT 1
$$;

REVOKE EXECUTE ON FUNCTION herald.enqueue_for_rule(bigint, text, text, text, text, text, jsonb, timestamptz, timestamptz, text, text, text, text),
                           herald.replan_message(bigint, text, text, timestamptz),
                           herald.cancel_for_rule(bigint, text, text), herald.cancel_recalls(bigint, text),
                           herald.recall_block(text, text, text, bigint, text), herald.upcoming_booking(text, text, text, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.enqueue_for_rule(bigint, text, text, text, text, text, jsonb, timestamptz, timestamptz, text, text, text, text),
                          herald.replan_message(bigint, text, text, timestamptz),
                          herald.cancel_for_rule(bigint, text, text), herald.cancel_recalls(bigint, text),
                          herald.recall_block(text, text, text, bigint, text), herald.upcoming_booking(text, text, text, timestamptz)
    TO herald_daemon, herald_admin;
GRANT SELECT, UPDATE (state, processed_at, error) ON herald.rule_edit TO herald_daemon;
GRANT SELECT, INSERT ON herald.rule_edit_outcome TO herald_daemon;
GRANT SELECT ON herald.rule_edit, herald.rule_edit_outcome TO herald_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.rule_edit, herald.rule_edit_outcome TO herald_admin;

-- 6. An event's cancellations say why on the message too ("the business declined the
--    booking", "the booking is waiting for approval again").
DROP FUNCTION herald.cancel_for_event(bigint, boolean);
CREATE FUNCTION herald.cancel_for_event(p_event bigint, p_reminders_only boolean, p_reason text) RETURNS SETOF bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    UPDATE herald.message m
       SET status = 'cancelled', updated_at = now(), dedupe_key = NULL,
           last_error = left(format('cancelled by event %s (%s %s %s): %s', e.id, e.subject_type, e.subject_id, e.type, p_reason), 2000)
      FROM herald.event e
     WHERE e.id = p_event AND m.subject_type = e.subject_type AND m.subject_id = e.subject_id AND m.status = 'pending'
       AND (NOT p_reminders_only
            OR m.rule_name IN (SELECT name FROM herald.rule WHERE send_before IS NOT NULL))
    RETURNING m.id
$$;
REVOKE EXECUTE ON FUNCTION herald.cancel_for_event(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.cancel_for_event(bigint, boolean, text) TO herald_daemon, herald_admin;
