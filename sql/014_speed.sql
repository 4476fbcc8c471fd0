-- Speed (issue 16): less work for the database per delivered message.
--
-- Attempt rows without a foreign key to their message. The key's check ran once per
-- attempt row, on every completion: a sixth of the completion statement's time. The
-- completion statement only writes attempts for messages that exist (it checks them), and
-- deleting a message still deletes its attempts, now by one statement-level trigger, so
-- only deletes pay for it (retention, a host's DELETE).
ALTER TABLE herald.attempt DROP CONSTRAINT IF EXISTS attempt_message_id_fkey;

CREATE FUNCTION herald.message_delete_attempts() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, herald AS $$
BEGIN
    DELETE FROM herald.attempt a USING gone g WHERE a.message_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER message_delete_attempts AFTER DELETE ON herald.message
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION herald.message_delete_attempts();

COMMENT ON TABLE herald.attempt IS
    'Every try of every message. Deleting a message deletes its attempts (trigger message_delete_attempts).';
