-- Retention (herald.prune, [retention] keep, herald prune) also removes the bounce and
-- abuse reports of herald.mail_feedback, which grew without end.
--
-- A report is kept at least 30 days whatever keep says: its row is what makes a provider's
-- second delivery of the same event a no-op (UNIQUE (source, event_key)), and providers
-- retry a webhook for up to three days. What a report did is not touched: the address's
-- herald.undeliverable row, the complaint's herald.opt_out row and the message's status
-- stay as they are. At most batch_size reports go per call, as for receipts. No row lock
-- is taken first (the daemon may delete reports, not update them): a report is written
-- once, in the transaction that records it, and only reports weeks old are deleted.
CREATE OR REPLACE FUNCTION herald.prune(keep interval, batch_size integer DEFAULT 1000) RETURNS integer LANGUAGE sql AS $$
    WITH doomed AS (
        SELECT id FROM herald.message
         WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'expired', 'suppressed')
           AND updated_at < now() - keep
         ORDER BY updated_at
         LIMIT batch_size
           FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM herald.message m USING doomed d WHERE m.id = d.id RETURNING 1
    ), receipts AS (
        DELETE FROM herald.receipt WHERE id IN (
            SELECT id FROM herald.receipt WHERE applied_at < now() - keep ORDER BY id LIMIT batch_size FOR UPDATE SKIP LOCKED)
    ), feedback AS (
        DELETE FROM herald.mail_feedback WHERE id IN (
            SELECT id FROM herald.mail_feedback WHERE received_at < now() - greatest(keep, interval '30 days')
             ORDER BY id LIMIT batch_size)
    )
    SELECT count(*)::integer FROM gone
$$;

-- herald.prune runs with its caller's rights: the daemon prunes.
GRANT DELETE ON herald.mail_feedback TO herald_daemon;
