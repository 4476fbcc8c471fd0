-- deploy/bench's bare job: a queue table as wide as the columns of herald.message that a
-- delivery reads or writes (the host's data included), with a partial index on pending
-- rows, and an attempt table. No triggers, no other index: the database's own limit.
DROP TABLE IF EXISTS bench_bare_attempt, bench_bare;
CREATE TABLE bench_bare (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel             text        NOT NULL,
    recipient           text        NOT NULL,
    template            text        NOT NULL,
    data                jsonb       NOT NULL,
    status              text        NOT NULL DEFAULT 'pending',
    attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    locked_by           text,
    locked_until        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    provider_message_id text
);
CREATE INDEX bench_bare_due ON bench_bare (next_attempt_at, id) WHERE status = 'pending';
CREATE TABLE bench_bare_attempt (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  bigint      NOT NULL,
    number      integer     NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome     text        NOT NULL
);
