-- One message, as a host application enqueues it, for deploy/bench's latency trickle:
-- pgbench -n -R <rate> -T <seconds> -f deploy/bench.d/pgbench/enqueue.sql DB
-- (created_at defaults to now(): the enqueue time the latency is measured from.)
INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data)
VALUES ('sms', '+3460' || lpad((random() * 99999999)::int::text, 8, '0'), 'bench', 'es', 'Europe/Madrid',
        '{"client": {"name": "Cliente 12345"}, "event_at": "2026-05-10T13:00:00+02:00"}');
