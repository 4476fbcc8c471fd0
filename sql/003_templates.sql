-- Templates a business can edit: versions, sample data for lint and preview,
-- shared partials (signature, footer, address), and the SMS segment count of
-- every rendered message.

ALTER TABLE herald.template
    ADD COLUMN version     integer NOT NULL DEFAULT 1,  -- bumped by every edit of subject, body or html
    ADD COLUMN sample_data jsonb                         -- what `herald templates lint` and `preview` render with
        CHECK (sample_data IS NULL OR jsonb_typeof(sample_data) = 'object'),
    ADD COLUMN description text,
    ADD CONSTRAINT template_channel CHECK (channel IN ('sms', 'email', 'webhook')),
    ADD CONSTRAINT template_subject_email CHECK (channel = 'email' OR (subject IS NULL AND html IS NULL));

COMMENT ON TABLE herald.template IS
    'Message templates (Mustache) per key, channel and locale. Locale fallback: fr-CA -> fr -> [render] default_locale.';
COMMENT ON COLUMN herald.template.version IS 'Incremented by every change of subject, body or html.';
COMMENT ON COLUMN herald.template.sample_data IS 'Template variables used by herald templates lint and preview.';

-- Shared pieces used from any template as {{> name}}: signature, footer, business address.
-- Looked up in the locale of the template that uses them, with the same fallback.
CREATE TABLE herald.template_partial (
    name       text        NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]+$'),
    locale     text        NOT NULL,
    body       text        NOT NULL,
    version    integer     NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, locale)
);

COMMENT ON TABLE herald.template_partial IS 'Shared template pieces, used as {{> name}}; same locale fallback as templates.';

-- Every edit bumps the version and the timestamp, so a DBA can tell which text went out.
CREATE FUNCTION herald.template_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'version' - 'updated_at' - 'sample_data' - 'description')
       IS DISTINCT FROM (to_jsonb(OLD) - 'version' - 'updated_at' - 'sample_data' - 'description') THEN
        NEW.version := OLD.version + 1;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER template_version BEFORE UPDATE ON herald.template
    FOR EACH ROW EXECUTE FUNCTION herald.template_bump_version();
CREATE TRIGGER template_partial_version BEFORE UPDATE ON herald.template_partial
    FOR EACH ROW EXECUTE FUNCTION herald.template_bump_version();
CREATE TRIGGER template_partial_notify AFTER INSERT OR UPDATE OR DELETE ON herald.template_partial
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_change('herald_template');

-- What a business's templates can say about a location, beyond its name.
ALTER TABLE herald.location
    ADD COLUMN address text,
    ADD COLUMN phone   text,
    ADD COLUMN website text;

-- The rendered message: its SMS segment count and the template version used.
ALTER TABLE herald.message
    ADD COLUMN sms_segments     integer,
    ADD COLUMN template_version integer;

COMMENT ON COLUMN herald.message.sms_segments IS 'Billed SMS segments of the rendered text (GSM 03.38: 160/153, UCS-2: 70/67).';
COMMENT ON COLUMN herald.message.template_version IS 'herald.template.version of the template that was rendered.';
