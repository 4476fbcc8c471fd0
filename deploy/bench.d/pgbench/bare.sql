-- The database's own limit for the bare job, for deploy/bench: claim :batch due rows with
-- SKIP LOCKED, mark them sent with one UPDATE, and write one attempt row each, on
-- bench_bare (deploy/bench.d/pgbench/bare-schema.sql): a table as wide as the columns of
-- herald.message that a delivery touches, with a partial index on pending rows.
-- Run: pgbench -n -M prepared -D batch=100 -c 4 -f deploy/bench.d/pgbench/bare.sql DB

WITH due AS (
    SELECT id FROM bench_bare
     WHERE status = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at, id
     LIMIT :batch::int
     FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE bench_bare b
       SET status = 'sending', attempts = b.attempts + 1, locked_by = 'pgbench-' || :client_id,
           locked_until = now() + interval '60 seconds', updated_at = now()
      FROM due WHERE b.id = due.id
    RETURNING b.id, b.attempts, b.data
)
SELECT coalesce(array_agg(id ORDER BY id)::text, '{}') AS ids, coalesce(array_agg(attempts ORDER BY id)::text, '{}') AS numbers
  FROM claimed
\gset

WITH done AS (
    UPDATE bench_bare b
       SET status = 'sent', sent_at = now(), provider_message_id = 'accept/' || b.id, locked_by = NULL, locked_until = NULL,
           updated_at = now()
      FROM unnest(:ids::bigint[], :numbers::int[]) AS c(id, number)
     WHERE b.id = c.id AND b.locked_by = 'pgbench-' || :client_id AND b.attempts = c.number
    RETURNING b.id, c.number
)
INSERT INTO bench_bare_attempt (message_id, number, started_at, finished_at, outcome)
SELECT id, number, now(), now(), 'sent' FROM done;
