-- Herald outbox: one row per message to one recipient on one channel.
-- The host application INSERTs here in its own transaction; Herald does the rest.

CREATE TABLE herald.message (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    channel             text        NOT NULL,          -- sms, email, webhook (others fail with a reason)
    recipient           text        NOT NULL,          -- E.164 phone, email address, or URL
    template            text        NOT NULL,          -- template key, e.g. appointment.reminder
    locale              text,                          -- e.g. es, fr-FR; NULL = configured default
    time_zone           text,                          -- IANA zone for rendering and quiet hours
    data                jsonb       NOT NULL DEFAULT '{}',
    send_at             timestamptz NOT NULL DEFAULT now(),
    postpone            interval    NOT NULL DEFAULT '0',
    event_at            timestamptz,                   -- start of the appointment it is about
    expires_at          timestamptz,                   -- never send after this
    business_hours_only boolean     NOT NULL DEFAULT false,
    location_id         text,
    dedupe_key          text UNIQUE,                   -- idempotent enqueue; supersedes an older pending row
    status              text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending','sending','sent','delivered','undelivered','failed','cancelled','expired','suppressed')),
    attempts            integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts        integer     CHECK (max_attempts > 0),  -- NULL = configured default
    next_attempt_at     timestamptz,                   -- set from send_at + postpone on insert
    claimed_at          timestamptz,
    locked_by           text,
    locked_until        timestamptz,
    last_error          text,
    provider_message_id text,
    sent_at             timestamptz,
    delivered_at        timestamptz,
    rendered_locale     text,
    rendered_subject    text,
    rendered_body       text,
    rendered_html       text
);

COMMENT ON TABLE herald.message IS 'Herald outbox: insert a row to send a message; Herald updates status, attempts and the delivery record.';
COMMENT ON COLUMN herald.message.postpone IS 'Added to send_at: the effective earliest send time is send_at + postpone.';
COMMENT ON COLUMN herald.message.last_error IS 'Human-readable reason of the last failure, skip or deferral.';

-- The claim query reads due pending rows in next_attempt_at order: this index
-- holds only pending rows, so it stays small however large the table grows.
CREATE INDEX message_due_idx ON herald.message (next_attempt_at, id) WHERE status = 'pending';
-- Lease recovery reads rows being sent whose lease ran out.
CREATE INDEX message_lease_idx ON herald.message (locked_until) WHERE status = 'sending';

-- Every try of every message: "what happened to message 123" is one query.
CREATE TABLE herald.attempt (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    bigint      NOT NULL REFERENCES herald.message (id) ON DELETE CASCADE,
    number        integer     NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    worker        text,
    driver        text,
    outcome       text        NOT NULL,  -- sent, retry, failed, lease_expired, discarded
    error         text,
    response_code text
);
CREATE INDEX attempt_message_idx ON herald.attempt (message_id, number);
CREATE INDEX attempt_finished_idx ON herald.attempt (finished_at);

-- Templates by key, channel and locale. body is the text body (email text part, SMS, webhook JSON).
CREATE TABLE herald.template (
    key        text        NOT NULL,
    channel    text        NOT NULL,
    locale     text        NOT NULL,
    subject    text,
    body       text        NOT NULL,
    html       text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, channel, locale)
);

-- Before insert: compute the first due time, and let a newer pending message
-- with the same dedupe_key supersede the older one.
CREATE FUNCTION herald.message_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_attempt_at := coalesce(NEW.next_attempt_at, NEW.send_at + NEW.postpone);
    NEW.status := coalesce(NEW.status, 'pending');
    IF NEW.dedupe_key IS NOT NULL THEN
        UPDATE herald.message
           SET status = 'cancelled',
               last_error = format('superseded by message %s (dedupe_key %L)', NEW.id, dedupe_key),
               dedupe_key = NULL,
               updated_at = now()
         WHERE dedupe_key = NEW.dedupe_key AND status = 'pending';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER message_before_insert BEFORE INSERT ON herald.message
    FOR EACH ROW EXECUTE FUNCTION herald.message_before_insert();

-- After insert: one NOTIFY per statement (NOTIFY takes a database-wide lock at
-- commit). Turn off for very high enqueue rates with
--   ALTER DATABASE ... SET herald.notify = 'off';   -- polling then carries the load
CREATE FUNCTION herald.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('herald.notify', true), 'on') <> 'off' THEN
        PERFORM pg_notify(TG_ARGV[0], '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER message_notify AFTER INSERT ON herald.message
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_message');
CREATE TRIGGER template_notify AFTER INSERT OR UPDATE OR DELETE ON herald.template
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_template');

-- DBA: send a failed/expired/cancelled/suppressed message again, now.
CREATE FUNCTION herald.retry(message_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    old_status text;
BEGIN
    SELECT status INTO old_status FROM herald.message WHERE id = message_id FOR UPDATE;
    IF old_status IS NULL THEN
        RAISE EXCEPTION 'herald.retry: no message %', message_id;
    ELSIF old_status IN ('pending', 'sending') THEN
        RAISE EXCEPTION 'herald.retry: message % is %, not finished', message_id, old_status;
    END IF;
    UPDATE herald.message
       SET status = 'pending', attempts = 0, next_attempt_at = now(),
           locked_by = NULL, locked_until = NULL, updated_at = now(),
           last_error = format('retried by %s (was %s: %s)', current_user, old_status, coalesce(last_error, '-'))
     WHERE id = message_id;
    PERFORM pg_notify('herald_message', '');
    RETURN format('message %s: %s -> pending', message_id, old_status);
END $$;

-- DBA or host: cancel a message that has not been sent yet.
CREATE FUNCTION herald.cancel(message_id bigint, reason text DEFAULT 'cancelled') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    old_status text;
BEGIN
    SELECT status INTO old_status FROM herald.message WHERE id = message_id FOR UPDATE;
    IF old_status IS NULL THEN
        RAISE EXCEPTION 'herald.cancel: no message %', message_id;
    ELSIF old_status <> 'pending' THEN
        RAISE EXCEPTION 'herald.cancel: message % is %; only pending messages can be cancelled', message_id, old_status;
    END IF;
    UPDATE herald.message
       SET status = 'cancelled', last_error = reason, updated_at = now()
     WHERE id = message_id;
    RETURN format('message %s: pending -> cancelled', message_id);
END $$;

-- DBA view: every message with its latest attempt.
CREATE VIEW herald.message_history AS
SELECT m.id, m.channel, m.recipient, m.template, m.status, m.attempts, m.last_error,
       m.created_at, m.next_attempt_at, m.sent_at, m.provider_message_id,
       a.number AS last_attempt, a.outcome AS last_outcome, a.finished_at AS last_attempt_at,
       a.worker AS last_worker, a.driver AS last_driver
  FROM herald.message m
  LEFT JOIN LATERAL (SELECT * FROM herald.attempt a WHERE a.message_id = m.id ORDER BY a.number DESC, a.id DESC LIMIT 1) a ON true;
