-- Recipients who must not be messaged again on a channel: recorded by Herald when
-- the provider reports an opt-out (Twilio error 21610: the client replied STOP),
-- or by the host application / a DBA.

CREATE TABLE herald.opt_out (
    channel    text        NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    recipient  text        NOT NULL,
    reason     text,
    source     text        NOT NULL DEFAULT 'host',  -- 'provider' when Herald recorded it
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, recipient)
);

COMMENT ON TABLE herald.opt_out IS
    'Recipients opted out per channel. Their pending messages become suppressed, and so do new ones on insert. Delete the row to opt back in (client replied START).';

-- Recording an opt-out suppresses what is still waiting for that recipient.
CREATE FUNCTION herald.opt_out_suppress_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE herald.message
       SET status = 'suppressed',
           last_error = format('recipient opted out of %s: %s', NEW.channel, coalesce(NEW.reason, NEW.source)),
           updated_at = now()
     WHERE channel = NEW.channel AND recipient = NEW.recipient AND status = 'pending';
    RETURN NULL;
END
$$;

CREATE TRIGGER opt_out_suppress AFTER INSERT ON herald.opt_out
    FOR EACH ROW EXECUTE FUNCTION herald.opt_out_suppress_pending();

-- A message enqueued for an opted-out recipient is suppressed at once, with the reason.
CREATE FUNCTION herald.message_check_opt_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    why text;
BEGIN
    SELECT coalesce(o.reason, o.source) INTO why FROM herald.opt_out o WHERE o.channel = NEW.channel AND o.recipient = NEW.recipient;
    IF FOUND THEN
        NEW.status := 'suppressed';
        NEW.last_error := format('recipient opted out of %s: %s', NEW.channel, why);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER message_opt_out BEFORE INSERT ON herald.message
    FOR EACH ROW EXECUTE FUNCTION herald.message_check_opt_out();
