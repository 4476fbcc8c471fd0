-- Retention: finished messages older than a configured age are deleted in small
-- batches (their attempts go with them, ON DELETE CASCADE), so the table and its
-- indexes stay lean without long locks. `herald prune` and `[retention] keep` call it.

-- Finds old finished rows without reading the live part of the table.
CREATE INDEX message_finished_idx ON herald.message (updated_at)
    WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed');

-- Deletes at most batch_size finished messages last changed before now() - keep;
-- returns how many. Rows another session has locked are skipped, never waited for.
CREATE FUNCTION herald.prune(keep interval, batch_size integer DEFAULT 1000) RETURNS integer LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT id FROM herald.message
         WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
           AND updated_at < now() - keep
         ORDER BY updated_at
         LIMIT batch_size
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM herald.message m USING doomed d WHERE m.id = d.id RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;

-- What herald.prune would delete (herald prune --dry-run).
CREATE FUNCTION herald.prunable(keep interval) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM herald.message
     WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
       AND updated_at < now() - keep
$$;

COMMENT ON FUNCTION herald.prune(interval, integer) IS
    'Deletes one batch of finished messages (and their attempts) older than keep; call until it returns less than batch_size.';
