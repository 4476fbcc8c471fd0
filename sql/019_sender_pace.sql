-- Throughput where providers really limit it (issue 26): one rate limit per sender, fair
-- shares between locations, urgent first under limits.
--
-- A message's queue is (channel, sender, location). The claim walks the queues that have
-- pending messages (a loose scan of message_queue_idx), takes an equal share from each
-- queue with something due, highest priority first, and never more from a sender than the
-- sender's tokens. The tokens live here, one row per limited sender (and one per channel
-- ceiling, sender '*'), locked by the claim that spends them: every daemon sharing the
-- database sees and spends the same tokens.

-- The sender a limit applies to: the From number or messaging service of an SMS (NULL: the
-- channel's default sender, written ''), the domain of an email's sender, the sender as
-- written for any other channel.
CREATE FUNCTION herald.sender_key(p_channel text, p_sender text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_sender IS NULL THEN ''
                WHEN p_channel = 'email' THEN
                    lower(coalesce(substring(p_sender FROM '@([^@<>[:space:]]+)>?[[:space:]]*$'), p_sender))
                ELSE p_sender END
$$;
COMMENT ON FUNCTION herald.sender_key(text, text) IS
    'The key of a message''s sender for rate limits: SMS From or service SID ('''' for the channel''s own), email domain.';

CREATE INDEX message_queue_idx ON herald.message
    (channel, herald.sender_key(channel, sender), coalesce(location_id, ''), priority, next_attempt_at, id)
    WHERE status = 'pending';

-- A generic cell rate algorithm per sender: `tat` is the theoretical arrival time of the
-- sender's next message; a claim at time t may take floor((t + (burst-1)·step - max(tat, t)) / step) + 1
-- messages and moves tat on by step for each. `ready_at` is when the sender next has a
-- token (the claim loop sleeps until the earliest). A provider's 429 sets `paused_until`
-- and, for a minute after it, holds the sender to one message per pause (`learned_step`
-- seconds, until `learned_until`) whatever its configured rate.
CREATE TABLE herald.sender_pace (
    channel      text        NOT NULL,
    sender       text        NOT NULL,
    tat          timestamptz NOT NULL DEFAULT '-infinity',
    ready_at     timestamptz NOT NULL DEFAULT '-infinity',
    paused_until timestamptz,
    pause_reason text CHECK (length(pause_reason) <= 500),
    learned_step  float8 CHECK (learned_step > 0 AND learned_step <= 3600),
    learned_until timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, sender)
);
COMMENT ON TABLE herald.sender_pace IS
    'Rate-limit state per sender (sender ''*'': the channel ceiling), shared by every daemon: see docs/configuration.md.';
CREATE INDEX sender_pace_ready ON herald.sender_pace (ready_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON herald.sender_pace TO herald_daemon, herald_admin;
GRANT SELECT ON herald.sender_pace TO herald_host;
GRANT EXECUTE ON FUNCTION herald.sender_key(text, text) TO herald_daemon, herald_host, herald_admin;
