-- The browser console (issue 25): its users (bcrypt password hashes, the API's roles) and
-- their sessions. A session cookie holds a random token; only its SHA-256 is stored. A
-- session ends when it expires, when it has been idle too long, on sign-out, and at once
-- when its user's role or password changes or the user is removed.

CREATE TABLE herald.console_user (
    name            text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    role            text        NOT NULL CHECK (role IN ('viewer', 'operator', 'editor', 'admin')),
    password_hash   text        NOT NULL CHECK (password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL DEFAULT session_user,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);
COMMENT ON TABLE herald.console_user IS
    'Console users (herald users create): name, role (as API tokens), bcrypt hash of the password.';

CREATE TABLE herald.console_session (
    token_sha256 bytea       PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    user_name    text        NOT NULL REFERENCES herald.console_user (name) ON DELETE CASCADE,
    role         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    address      text
);
CREATE INDEX console_session_user ON herald.console_session (user_name);
CREATE INDEX console_session_expires ON herald.console_session (expires_at);
COMMENT ON TABLE herald.console_session IS
    'Signed-in console sessions: the SHA-256 of the cookie''s token, whose, with what role, until when.';

-- A user whose role or password changes is signed out everywhere.
CREATE FUNCTION herald.console_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role OR NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        DELETE FROM herald.console_session WHERE user_name = OLD.name;
        NEW.changed_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER console_user_changed BEFORE UPDATE ON herald.console_user
    FOR EACH ROW EXECUTE FUNCTION herald.console_user_changed();

GRANT SELECT, INSERT, DELETE ON herald.console_user TO herald_api;
GRANT UPDATE (role, password_hash, last_sign_in_at, changed_at) ON herald.console_user TO herald_api;
GRANT SELECT, INSERT, DELETE ON herald.console_session TO herald_api;
GRANT UPDATE (last_seen_at) ON herald.console_session TO herald_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON herald.console_user, herald.console_session TO herald_admin;

-- A client's page lists their replies: found by the message they answered.
CREATE INDEX inbound_in_reply_to ON herald.inbound (in_reply_to, id) WHERE result = 'reply' AND in_reply_to IS NOT NULL;

-- The console's search for a client: by name (words, accents ignored by lower()), phone or email.
CREATE INDEX contact_name_trgm ON herald.contact USING gin (lower(name) public.gin_trgm_ops) WHERE name IS NOT NULL;
CREATE INDEX contact_email_lower ON herald.contact (lower(email) text_pattern_ops) WHERE email IS NOT NULL;
-- A phone number is found by its last digits, however the host wrote it (+34 600 00 00 01).
CREATE INDEX contact_phone_digits ON herald.contact (reverse(regexp_replace(phone, '[^0-9]', '', 'g')) text_pattern_ops)
    WHERE phone IS NOT NULL;
