-- Lucía answers her reminder (the colour, this time tomorrow) by email, in her own words:
-- a free-text reply, for the business's replies inbox. Herald links it to the last message
-- it sent her by email: that reminder. Recorded after the reminder went out (deploy/demo).
INSERT INTO herald.inbound (provider, provider_id, channel, from_address, to_address, body)
VALUES ('demo', 'lucia-reply-1', 'email', 'lucia.fernandez@example.es', 'demo@herald.localhost',
        '¡Gracias! Allí estaré. ¿Puedo llegar diez minutos antes para elegir el color?');
