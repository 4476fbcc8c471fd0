-- Client answers: a client confirms or declines an appointment from a reminder, by a
-- signed link (Herald's listener) or by an SMS reply. Each answer is a row here and an
-- event ('confirmed' / 'declined') the rules turn into the client's acknowledgement and
-- the business's notice; a decline cancels the subject's pending reminders at once.

CREATE TABLE herald.answer (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_type text        NOT NULL,
    subject_id   text        NOT NULL,
    message_id   bigint,                 -- the reminder answered (no foreign key: retention may prune it)
    action       text        NOT NULL CHECK (action IN ('confirm', 'decline')),
    channel      text        NOT NULL CHECK (channel IN ('link', 'sms')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    from_address text,                   -- who answered: the address the link was sent to, or the replying number
    event_id     bigint                  -- the herald.event this answer recorded
);
CREATE INDEX answer_subject ON herald.answer (subject_type, subject_id, id);
COMMENT ON TABLE herald.answer IS
    'Clients'' answers to reminders (confirm / decline), by link or SMS reply. NOTIFY herald_answer on each new one.';

-- Whether a message asks its client for an answer: a reminder, i.e. made by a rule that
-- sends before the appointment, or written by the host with a template named *.reminder.
CREATE FUNCTION herald.asks_answer(p_rule_name text, p_template text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT p_template LIKE '%.reminder'
        OR coalesce(p_rule_name IN (SELECT name FROM herald.rule WHERE send_before IS NOT NULL), false)
$$;

-- The reminder an SMS reply from `p_from` answers: the most recent one sent to that number
-- that asks for an answer, whose appointment has not started. NULL when there is none, and
-- with p_unless_opted_out when that number is opted out (YES is then an opt-in, as for
-- Twilio, not an answer).
CREATE FUNCTION herald.answerable_reminder(p_channel text, p_from text, p_unless_opted_out boolean DEFAULT false) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT m.id FROM herald.message m
     WHERE m.channel = p_channel AND m.recipient = herald.normalize_recipient(p_channel, p_from)
       AND NOT (p_unless_opted_out AND EXISTS (SELECT 1 FROM herald.opt_out o
                                                WHERE o.channel = p_channel AND o.recipient = herald.normalize_recipient(p_channel, p_from)))
       AND m.status IN ('sent', 'delivered') AND m.subject_type IS NOT NULL
       AND (m.event_at IS NULL OR m.event_at > now())
       AND herald.asks_answer(m.rule_name, m.template)
     ORDER BY m.sent_at DESC NULLS LAST, m.id DESC
     LIMIT 1
$$;

-- Records one answer to message `p_message`, once. The rule when answers differ: the
-- latest answer stands, except that a decline is final (the business may have given the
-- slot away): confirming after declining is refused. Returns what happened:
--   recorded | already (the same answer again) | declined_before | cancelled (the subject
--   was cancelled) | started (the appointment has begun) | unknown (no such message or no subject)
-- and the answer's id (the existing one for `already`).
CREATE FUNCTION herald.record_answer(p_message bigint, p_action text, p_channel text, p_from text)
RETURNS TABLE (result text, answer_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    m       herald.message%ROWTYPE;
    last    herald.answer%ROWTYPE;
    starts  timestamptz;
    latest  text;
    ev      bigint;
    new_id  bigint;
BEGIN
    IF p_action NOT IN ('confirm', 'decline') OR p_channel NOT IN ('link', 'sms') THEN
        RAISE EXCEPTION 'herald.record_answer: action must be confirm or decline and channel link or sms, got % and %', p_action, p_channel;
    END IF;
    SELECT * INTO m FROM herald.message WHERE id = p_message;
    IF m.id IS NULL OR m.subject_type IS NULL THEN
        RETURN QUERY SELECT 'unknown'::text, NULL::bigint;
        RETURN;
    END IF;
    -- One answer at a time per subject: a double click, or a link and a reply at once.
    PERFORM pg_advisory_xact_lock(hashtextextended('herald.answer:' || m.subject_type || ':' || m.subject_id, 0));
    SELECT * INTO last FROM herald.answer a
     WHERE a.subject_type = m.subject_type AND a.subject_id = m.subject_id ORDER BY a.id DESC LIMIT 1;
    IF last.action = p_action THEN
        RETURN QUERY SELECT 'already'::text, last.id;
        RETURN;
    ELSIF last.action = 'decline' THEN
        RETURN QUERY SELECT 'declined_before'::text, last.id;
        RETURN;
    END IF;
    SELECT e.type, e.starts_at INTO latest, starts FROM herald.event e
     WHERE e.subject_type = m.subject_type AND e.subject_id = m.subject_id
       AND e.type IN ('created', 'time_changed', 'cancelled')
     ORDER BY e.id DESC LIMIT 1;
    IF latest = 'cancelled' THEN
        RETURN QUERY SELECT 'cancelled'::text, NULL::bigint;
        RETURN;
    END IF;
    starts := coalesce(starts, m.event_at);
    IF starts IS NOT NULL AND starts <= now() THEN
        RETURN QUERY SELECT 'started'::text, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO herald.answer (subject_type, subject_id, message_id, action, channel, from_address)
    VALUES (m.subject_type, m.subject_id, m.id, p_action, p_channel, left(p_from, 320))
    RETURNING id INTO new_id;
    INSERT INTO herald.event (subject_type, subject_id, type, starts_at, location_id, contact_id, data)
    VALUES (m.subject_type, m.subject_id, CASE p_action WHEN 'confirm' THEN 'confirmed' ELSE 'declined' END,
            starts, m.location_id, m.contact_id,
            -- The reminder's variables (client, service, …) so the notices can say who and what;
            -- not its times or links, which the event's own replace.
            (m.data - 'event_at' - 'previous_event_at' - 'ends_at' - 'confirm_url' - 'cancel_url' - 'manage_url')
            || jsonb_build_object('answer_id', new_id, 'message_id', m.id, 'answer_channel', p_channel,
                                  'answer_by_sms', p_channel = 'sms'))
    RETURNING id INTO ev;
    UPDATE herald.answer SET event_id = ev WHERE id = new_id;
    IF p_action = 'decline' THEN
        UPDATE herald.message r
           SET status = 'cancelled', updated_at = now(), dedupe_key = NULL,
               last_error = format('cancelled: the client declined %s %s (answer %s)', m.subject_type, m.subject_id, new_id)
         WHERE r.subject_type = m.subject_type AND r.subject_id = m.subject_id AND r.status = 'pending'
           AND (herald.asks_answer(r.rule_name, r.template) OR r.template = m.template);
    END IF;
    PERFORM pg_notify('herald_answer', json_build_object(
        'answer_id', new_id, 'subject_type', m.subject_type, 'subject_id', m.subject_id,
        'action', p_action, 'channel', p_channel, 'message_id', m.id, 'event_id', ev)::text);
    RETURN QUERY SELECT 'recorded'::text, new_id;
END
$$;

-- What the answer page shows for message `p_message`: where, when (and in which zone and
-- language), and the subject's latest answer and state.
CREATE FUNCTION herald.answer_page(p_message bigint)
RETURNS TABLE (subject_type text, subject_id text, location_name text, starts_at timestamptz, time_zone text,
               locale text, recipient text, last_answer text, cancelled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    SELECT m.subject_type, m.subject_id, l.name,
           coalesce((SELECT e.starts_at FROM herald.event e
                      WHERE e.subject_type = m.subject_type AND e.subject_id = m.subject_id
                        AND e.type IN ('created', 'time_changed') AND e.starts_at IS NOT NULL
                      ORDER BY e.id DESC LIMIT 1), m.event_at),
           coalesce(CASE WHEN l.lock_time_zone THEN l.time_zone END, m.time_zone, l.time_zone), coalesce(m.rendered_locale, m.locale), m.recipient,
           (SELECT a.action FROM herald.answer a WHERE a.subject_type = m.subject_type AND a.subject_id = m.subject_id
             ORDER BY a.id DESC LIMIT 1),
           coalesce((SELECT e.type = 'cancelled' FROM herald.event e
                      WHERE e.subject_type = m.subject_type AND e.subject_id = m.subject_id
                        AND e.type IN ('created', 'time_changed', 'cancelled')
                      ORDER BY e.id DESC LIMIT 1), false)
      FROM herald.message m LEFT JOIN herald.location l ON l.id = m.location_id
     WHERE m.id = p_message AND m.subject_type IS NOT NULL
$$;

REVOKE EXECUTE ON FUNCTION herald.record_answer(bigint, text, text, text), herald.answer_page(bigint),
                           herald.answerable_reminder(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.record_answer(bigint, text, text, text), herald.answer_page(bigint),
                          herald.answerable_reminder(text, text, boolean) TO herald_daemon, herald_admin;
GRANT SELECT ON herald.answer TO herald_host, herald_admin, herald_daemon;
