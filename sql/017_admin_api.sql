-- The admin API (issue 24): bearer tokens with roles, an append-only audit log, the
-- history of every template version, replies marked handled, and the indexes that keep
-- the API's searches off sequential scans on a table of millions.

-- The API's database role. A login made for the API (`[admin] database_url`) is granted
-- it: GRANT herald_api TO herald_admin_api. It may do exactly what the API offers.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'herald_api') THEN CREATE ROLE herald_api NOLOGIN; END IF;
END $$;
GRANT USAGE ON SCHEMA herald TO herald_api;

-- Bearer tokens: only the SHA-256 of a token is stored; the token is printed once.
CREATE TABLE herald.api_token (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    role         text        NOT NULL CHECK (role IN ('viewer', 'operator', 'editor', 'admin')),
    token_sha256 bytea       NOT NULL UNIQUE CHECK (octet_length(token_sha256) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL DEFAULT session_user,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
COMMENT ON TABLE herald.api_token IS
    'Admin API bearer tokens (herald tokens create): the SHA-256 of each token, its role, expiry and revocation.';

-- Every action through the API (and the console), successful or refused. Append-only:
-- no role but the schema owner may change or delete a row.
CREATE TABLE herald.audit_log (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_kind text        NOT NULL CHECK (actor_kind IN ('token', 'user', 'anonymous')),
    actor_name text        NOT NULL,
    role       text,
    action     text        NOT NULL,
    target     text,
    filter     jsonb,
    count      integer,
    result     text        NOT NULL,   -- 'ok', 'refused: …', 'failed: …'
    address    text                    -- the client's address, as the listener saw it
);
CREATE INDEX audit_log_at ON herald.audit_log (at, id);
COMMENT ON TABLE herald.audit_log IS
    'Every admin API action, successful or refused: when, who (token or user), with what role, on what, how many, result.';

CREATE FUNCTION herald.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.pg_has_role(session_user, (SELECT nspowner FROM pg_catalog.pg_namespace WHERE nspname = 'herald'), 'USAGE') THEN
        RETURN NULL;  -- the schema owner (retention by hand) may
    END IF;
    RAISE EXCEPTION 'herald.audit_log is append-only' USING ERRCODE = '42501';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON herald.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION herald.audit_log_append_only();

-- Every version of every template, with who wrote it (SET LOCAL herald.actor = '…' names
-- the API token or console user; else the database login).
CREATE TABLE herald.template_version (
    key        text        NOT NULL,
    channel    text        NOT NULL,
    locale     text        NOT NULL,
    version    integer     NOT NULL,
    subject    text,
    body       text        NOT NULL,
    html       text,
    author     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, channel, locale, version)
);
COMMENT ON TABLE herald.template_version IS 'Every version of herald.template, oldest first, with its author.';

INSERT INTO herald.template_version (key, channel, locale, version, subject, body, html, author, created_at)
SELECT key, channel, locale, version, subject, body, html, 'before history', updated_at FROM herald.template;

CREATE FUNCTION herald.template_record_version() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN
        INSERT INTO herald.template_version (key, channel, locale, version, subject, body, html, author)
        VALUES (NEW.key, NEW.channel, NEW.locale, NEW.version, NEW.subject, NEW.body, NEW.html,
                coalesce(nullif(current_setting('herald.actor', true), ''), session_user))
        ON CONFLICT (key, channel, locale, version) DO UPDATE
           SET subject = EXCLUDED.subject, body = EXCLUDED.body, html = EXCLUDED.html,
               author = EXCLUDED.author, created_at = now();
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER template_record_version AFTER INSERT OR UPDATE ON herald.template
    FOR EACH ROW EXECUTE FUNCTION herald.template_record_version();

-- Free-text replies an operator has dealt with.
ALTER TABLE herald.inbound
    ADD COLUMN handled_at timestamptz,
    ADD COLUMN handled_by text;
CREATE INDEX inbound_replies_waiting ON herald.inbound (id) WHERE result = 'reply' AND handled_at IS NULL;

-- The API's searches: by recipient and by contact (whatever the status), by status (newest
-- first), by text in last_error.
CREATE INDEX message_recipient_idx ON herald.message (recipient_key, id);
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX message_contact_idx ON herald.message (contact_id, id) WHERE contact_id IS NOT NULL;
-- Finished statuses only: a pending or sending row is found by the claim's and the lease's
-- own partial indexes, and the claim must never be planned on this one.
CREATE INDEX message_status_idx ON herald.message (status, id) WHERE status NOT IN ('pending', 'sending');
CREATE INDEX message_last_error_trgm ON herald.message USING gin (last_error public.gin_trgm_ops)
    WHERE last_error IS NOT NULL;

-- Retry and cancel name who acted: the API token or console user (SET LOCAL herald.actor),
-- else the login. Retry runs as its owner so that the API's role needs no UPDATE on
-- herald.message; it checks the status and the opt-outs itself, as cancel always did.
CREATE OR REPLACE FUNCTION herald.retry(message_id bigint) RETURNS text LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    m herald.message%ROWTYPE;
    why text;
    actor text := coalesce(nullif(current_setting('herald.actor', true), ''), session_user);
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
           recipient_key = herald.normalize_recipient(m.channel, m.recipient),
           last_error = format('retried by %s (was %s: %s)', actor, m.status, coalesce(m.last_error, '-'))
     WHERE id = message_id;
    PERFORM pg_notify('herald_message', '');
    RETURN format('message %s: %s -> pending', message_id, m.status);
END $$;
REVOKE EXECUTE ON FUNCTION herald.retry(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.retry(bigint) TO herald_admin;

-- Bulk actions: each message on its own (one refused, an opted-out client say, does not
-- undo the others), in the order given, with what happened to it.
-- It runs as its owner: reading a status under the row's lock needs a right on messages
-- the API's login does not have (it may only call retry and cancel).
CREATE FUNCTION herald.retry_many(p_ids bigint[], p_statuses text[]) RETURNS TABLE (message_id bigint, result text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    i bigint;
    now_status text;
BEGIN
    FOREACH i IN ARRAY coalesce(p_ids, '{}') LOOP
        message_id := i;
        -- The status is read again under the row's lock: a message sent since the filter
        -- was read is not sent twice.
        SELECT status INTO now_status FROM herald.message WHERE id = i FOR UPDATE;
        IF now_status IS NULL OR now_status <> ALL (p_statuses) THEN
            result := format('skipped: now %s', coalesce(now_status, 'gone'));
        ELSE
            BEGIN
                result := herald.retry(i);
            EXCEPTION WHEN raise_exception THEN
                result := 'refused: ' || SQLERRM;
            END;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

CREATE FUNCTION herald.cancel_many(p_ids bigint[], p_reason text) RETURNS TABLE (message_id bigint, result text)
LANGUAGE plpgsql SET search_path = pg_catalog, herald AS $$
DECLARE
    i bigint;
BEGIN
    FOREACH i IN ARRAY coalesce(p_ids, '{}') LOOP
        message_id := i;
        BEGIN
            result := herald.cancel(i, p_reason);
        EXCEPTION WHEN raise_exception THEN
            result := 'refused: ' || SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION herald.retry_many(bigint[], text[]), herald.cancel_many(bigint[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.retry_many(bigint[], text[]), herald.cancel_many(bigint[], text) TO herald_admin, herald_api;

-- A bulk action's confirmation is used once: its signature is recorded when the action starts.
CREATE TABLE herald.api_confirmation (
    signature text        PRIMARY KEY,
    used_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE herald.api_confirmation IS 'Bulk confirmations already used (kept a day: they expire within minutes).';

-- A token is checked, and its use noted (at most once a minute), and revoked, through
-- these functions: the API's login may not update tokens (nor un-revoke one).
CREATE FUNCTION herald.api_token_check(p_digest bytea)
RETURNS TABLE (name text, role text, created_at timestamptz, created_by text, expires_at timestamptz, revoked_at timestamptz,
               last_used_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
DECLARE
    t herald.api_token%ROWTYPE;
BEGIN
    SELECT * INTO t FROM herald.api_token a
     WHERE a.token_sha256 = p_digest AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now());
    IF NOT FOUND THEN RETURN; END IF;
    IF t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute' THEN
        UPDATE herald.api_token a SET last_used_at = now() WHERE a.id = t.id;
    END IF;
    RETURN QUERY SELECT t.name, t.role, t.created_at, t.created_by, t.expires_at, t.revoked_at, t.last_used_at;
END $$;

CREATE FUNCTION herald.api_token_revoke(p_name text) RETURNS SETOF herald.api_token
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    UPDATE herald.api_token SET revoked_at = coalesce(revoked_at, now()) WHERE name = p_name RETURNING *;
$$;

-- The key bulk confirmations are signed with, made by the first to ask; the API's login
-- reads no other secret (the link key signs clients' unsubscribe and answer links).
CREATE FUNCTION herald.admin_confirm_key(p_generated text) RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
    WITH stored AS (
        INSERT INTO herald.secret (name, value) VALUES ('admin_confirm_key', p_generated) ON CONFLICT (name) DO NOTHING RETURNING value
    )
    SELECT value FROM stored UNION ALL SELECT value FROM herald.secret WHERE name = 'admin_confirm_key' LIMIT 1;
$$;
REVOKE EXECUTE ON FUNCTION herald.api_token_check(bytea), herald.api_token_revoke(text), herald.admin_confirm_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald.api_token_check(bytea), herald.api_token_revoke(text), herald.admin_confirm_key(text) TO herald_api, herald_admin;

-- An API login records consent changes as 'operator' only (what the API offers); Herald's
-- own sources stay the daemon's.
CREATE OR REPLACE FUNCTION herald.check_consent_source(p_source text) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, herald AS $$
BEGIN
    IF lower(btrim(p_source)) IN ('keyword', 'unsubscribe', 'provider', 'complaint')
       AND NOT pg_catalog.pg_has_role(session_user, 'herald_daemon', 'MEMBER') THEN
        RAISE EXCEPTION 'herald: consent source % is recorded by Herald itself only; % is not a member of herald_daemon', p_source, session_user
            USING ERRCODE = '42501',
                  HINT = 'Record an opt-out or opt-in with source ''host'' (the default) or a name of your own, such as ''desk''.';
    END IF;
    IF lower(btrim(p_source)) <> 'operator'
       AND pg_catalog.pg_has_role(session_user, 'herald_api', 'MEMBER')
       AND NOT pg_catalog.pg_has_role(session_user, 'herald_host', 'MEMBER')
       AND NOT pg_catalog.pg_has_role(session_user, 'herald_admin', 'MEMBER')
       AND NOT pg_catalog.pg_has_role(session_user, 'herald_daemon', 'MEMBER') THEN
        RAISE EXCEPTION 'herald: the admin API''s login records consent as operator only, not %', p_source USING ERRCODE = '42501';
    END IF;
END
$$;

-- What the API may do, and nothing more.
GRANT SELECT ON herald.message, herald.attempt, herald.receipt, herald.contact, herald.opt_out, herald.consent_event,
                herald.inbound, herald.event, herald.event_outcome, herald.rule, herald.rule_edit, herald.rule_edit_outcome,
                herald.template, herald.template_partial, herald.template_version, herald.location, herald.location_hours,
                herald.location_closed, herald.subject_feed, herald.answer, herald.schema_migrations, herald.message_history
    TO herald_api;
GRANT UPDATE (handled_at, handled_by) ON herald.inbound TO herald_api;
GRANT INSERT, DELETE ON herald.opt_out TO herald_api;
GRANT INSERT, UPDATE ON herald.template TO herald_api;
GRANT INSERT, UPDATE ON herald.rule TO herald_api;
GRANT SELECT, INSERT ON herald.api_token TO herald_api;
GRANT SELECT, INSERT, DELETE ON herald.api_confirmation TO herald_api;
GRANT SELECT, INSERT ON herald.audit_log TO herald_api;
GRANT EXECUTE ON FUNCTION herald.retry(bigint), herald.cancel(bigint, text) TO herald_api;
GRANT SELECT ON herald.api_token, herald.audit_log, herald.template_version TO herald_admin;
GRANT INSERT ON herald.api_token TO herald_admin;
GRANT UPDATE (revoked_at) ON herald.api_token TO herald_admin;
GRANT INSERT ON herald.audit_log TO herald_admin;
GRANT UPDATE (handled_at, handled_by) ON herald.inbound TO herald_admin;
