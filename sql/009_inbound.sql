-- What comes back: client replies (SMS), stored before the provider gets its answer and
-- processed by the daemon (or by anything else that inserts here).

CREATE TABLE herald.inbound (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider     text        NOT NULL,              -- 'twilio', or the inserting system's name
    provider_id  text        NOT NULL,              -- the provider's message id: a retry of the same request is a no-op
    channel      text        NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'email', 'webhook')),
    from_address text        NOT NULL,              -- the client (normalised on insert)
    to_address   text        NOT NULL DEFAULT '',   -- the business number
    body         text        NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    -- What processing found: 'opt_out', 'opt_in', 'help', 'reply' (free text), or 'failed: …'.
    result       text,
    keyword      text,                              -- the keyword as read (STOP, BAJA, …)
    -- The last message Herald sent to that client. No foreign key: retention may prune the
    -- message (the reply stays), and herald.message stays free to prune or truncate.
    in_reply_to  bigint,
    UNIQUE (provider, provider_id)
);

CREATE INDEX inbound_unprocessed ON herald.inbound (id) WHERE processed_at IS NULL;

-- The last message sent to a client, for in_reply_to: only sent rows are indexed, by the
-- recipient as written (a sent SMS went to an E.164 number, which is its normal form; an
-- index on the normalised form would run its regular expressions on every completion).
CREATE INDEX message_sent_to_idx ON herald.message (channel, recipient, sent_at)
    WHERE status IN ('sent', 'delivered');
CREATE INDEX inbound_from ON herald.inbound (channel, from_address, received_at);

COMMENT ON TABLE herald.inbound IS
    'Client replies. Herald processes each row once (processed_at, result): keywords change consent, other text is a reply for the business (in_reply_to: the last message sent to that client).';

CREATE FUNCTION herald.inbound_normalize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.from_address := herald.normalize_recipient(NEW.channel, NEW.from_address);
    PERFORM pg_notify('herald_inbound', '');
    RETURN NEW;
END
$$;

CREATE TRIGGER inbound_normalize BEFORE INSERT ON herald.inbound
    FOR EACH ROW EXECUTE FUNCTION herald.inbound_normalize();

ALTER FUNCTION herald.inbound_normalize() SECURITY DEFINER SET search_path = pg_catalog, herald;
GRANT SELECT, INSERT, UPDATE ON herald.inbound TO herald_daemon;
-- Processing a START reply lifts the opt-out.
GRANT DELETE ON herald.opt_out TO herald_daemon;
GRANT SELECT, INSERT ON herald.inbound TO herald_host;
GRANT SELECT ON herald.inbound TO herald_admin;
