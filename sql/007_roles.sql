-- Least privilege (issue 11). Two group roles; an operator grants them to login roles:
--   GRANT herald_daemon TO herald;        -- the daemon's login
--   GRANT herald_host   TO booking_app;   -- the host application's login
--   GRANT herald_admin  TO dba;           -- templates, locations, retry/cancel by hand
-- The daemon owns nothing; the host may enqueue messages, record opt-outs and read
-- status, but not rewrite any message's status. Triggers that must see or change rows
-- the caller may not touch run as SECURITY DEFINER with a fixed search_path.
-- Roles are cluster-wide: created once, whichever database migrates first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'herald_daemon') THEN CREATE ROLE herald_daemon NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'herald_host') THEN CREATE ROLE herald_host NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'herald_admin') THEN CREATE ROLE herald_admin NOLOGIN; END IF;
END $$;

GRANT USAGE ON SCHEMA herald TO herald_daemon, herald_host, herald_admin;
REVOKE EXECUTE ON FUNCTION herald.retry(bigint), herald.cancel(bigint, text), herald.prune(interval, integer) FROM PUBLIC;

-- The daemon: claim, complete, lease and prune messages; record attempts and opt-outs;
-- read templates, locations and the schema version.
GRANT SELECT, UPDATE, DELETE ON herald.message TO herald_daemon;
GRANT SELECT, INSERT ON herald.attempt, herald.opt_out TO herald_daemon;
GRANT SELECT ON herald.template, herald.template_partial, herald.location, herald.location_hours, herald.location_closed,
                herald.schema_migrations, herald.message_history TO herald_daemon;
GRANT EXECUTE ON FUNCTION herald.prune(interval, integer) TO herald_daemon;

-- The host: enqueue (only the columns a host sets), read status and history, record and
-- lift opt-outs, cancel a pending message.
GRANT INSERT (channel, recipient, template, locale, time_zone, data, send_at, postpone, event_at, expires_at,
              business_hours_only, location_id, dedupe_key, max_attempts, urgent, min_lead) ON herald.message TO herald_host;
GRANT SELECT ON herald.message, herald.attempt, herald.message_history, herald.template, herald.location TO herald_host;
GRANT SELECT, INSERT, DELETE ON herald.opt_out TO herald_host;
GRANT EXECUTE ON FUNCTION herald.cancel(bigint, text) TO herald_host;

-- The administrator: everything a DBA does by hand.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA herald TO herald_admin;
GRANT EXECUTE ON FUNCTION herald.retry(bigint), herald.cancel(bigint, text), herald.prune(interval, integer) TO herald_admin;

-- Triggers on herald.message and herald.opt_out change or read rows the caller may not:
-- they run as their owner, with a search_path no caller can redirect.
ALTER FUNCTION herald.message_before_insert() SECURITY DEFINER SET search_path = pg_catalog, herald;
ALTER FUNCTION herald.message_check_opt_out() SECURITY DEFINER SET search_path = pg_catalog, herald;
ALTER FUNCTION herald.opt_out_suppress_pending() SECURITY DEFINER SET search_path = pg_catalog, herald;
-- herald.cancel checks the status itself; it may run for a host without UPDATE rights.
ALTER FUNCTION herald.cancel(bigint, text) SECURITY DEFINER SET search_path = pg_catalog, herald;
