-- Scheduling rules: locations with opening hours, urgent messages, per-message minimum lead.

ALTER TABLE herald.message
    ADD COLUMN urgent   boolean NOT NULL DEFAULT false,  -- bypasses quiet hours ("your appointment was cancelled")
    ADD COLUMN min_lead interval;                        -- overrides [scheduling] minimum_lead before event_at

COMMENT ON COLUMN herald.message.urgent IS 'Urgent transactional message: quiet hours do not apply.';
COMMENT ON COLUMN herald.message.min_lead IS 'Not sent closer than this to event_at (NULL = configured minimum_lead).';

-- A place of business: its zone, its week, its closed dates, its own quiet hours.
CREATE TABLE herald.location (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    time_zone      text NOT NULL,                  -- IANA zone, e.g. Europe/Madrid
    lock_time_zone boolean NOT NULL DEFAULT false, -- true: times and quiet hours in this zone whatever the client's
    quiet_hours    jsonb NOT NULL DEFAULT '{}'     -- per channel, e.g. {"sms": "20:00-09:00", "email": "off"}
        CHECK (jsonb_typeof(quiet_hours) = 'object'),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Weekly opening intervals; several per day for a lunch break. weekday: 1 = Monday ... 7 = Sunday.
CREATE TABLE herald.location_hours (
    location_id text     NOT NULL REFERENCES herald.location (id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens       time     NOT NULL,
    closes      time     NOT NULL,
    PRIMARY KEY (location_id, weekday, opens),
    CONSTRAINT opens_before_closes CHECK (opens < closes)
);

-- Days the location is closed (holidays).
CREATE TABLE herald.location_closed (
    location_id text NOT NULL REFERENCES herald.location (id) ON DELETE CASCADE,
    day         date NOT NULL,
    note        text,
    PRIMARY KEY (location_id, day)
);

CREATE TRIGGER location_notify AFTER INSERT OR UPDATE OR DELETE ON herald.location
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_location');
CREATE TRIGGER location_hours_notify AFTER INSERT OR UPDATE OR DELETE ON herald.location_hours
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_location');
CREATE TRIGGER location_closed_notify AFTER INSERT OR UPDATE OR DELETE ON herald.location_closed
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_location');
