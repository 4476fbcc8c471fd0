-- Hardening (issue 11): the host's INSERT never fails because Herald is delivering an
-- older version of the same dedupe_key, and an infinite send time never hides a row.

-- Before insert: compute the first due time, and let the new row supersede an older
-- unfinished one with the same dedupe_key.
--  * the older one is pending: it is cancelled (as before);
--  * the older one is being sent right now: the key moves to the new row, and the old
--    version finishes as it was going to (it may already be with the provider; its own
--    outcome is recorded as usual). Its last_error says it was superseded.
-- A send time of infinity/-infinity is due at once: the worker then fails
-- send_at = infinity with the reason and sends send_at = -infinity now.
CREATE OR REPLACE FUNCTION herald.message_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_attempt_at := coalesce(NEW.next_attempt_at, NEW.send_at + NEW.postpone);
    IF NOT isfinite(NEW.next_attempt_at) THEN
        NEW.next_attempt_at := now();
    END IF;
    NEW.status := coalesce(NEW.status, 'pending');
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
