-- WhatsApp in the demo (issue 27): the salon confirms two bookings on WhatsApp, as its booking
-- application writes them to the outbox, with the SMS as fallback. Rosa reads WhatsApp; Pau's
-- number has no WhatsApp account, which Twilio reports later (error 63003) in the status
-- callback: Herald then sends his SMS, once.
INSERT INTO herald.contact (id, name, phone, locale, time_zone, preference, sms_consent, whatsapp_consent) VALUES
('rosa', 'Rosa', '+34611222331', 'es', 'Europe/Madrid', 'whatsapp', true, true),
('pau', 'Pau', '+34611222339', 'es', 'Europe/Madrid', 'whatsapp', true, true);

-- The salon's approved WhatsApp template (its Twilio Content SID) for the confirmation.
INSERT INTO herald.template (key, channel, locale, body, content_sid, content_variables) VALUES
('appointment.confirmed', 'whatsapp', 'es',
 'Hola {{client.name}}, tu cita en {{location.name}} está confirmada.',
 'HX5a1f0c2e9d8b7a6f5e4d3c2b1a0f9e8d', '{"1": "{{client.name}}", "2": "{{location.name}}"}');

INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, contact_id, location_id, subject_type, subject_id, fallback)
SELECT 'whatsapp', c.phone, 'appointment.confirmed', 'es', 'Europe/Madrid',
       jsonb_build_object('client', jsonb_build_object('name', c.name), 'service', 'corte', 'manage_url', 'https://citas.example.es/c/' || s.id,
                          'event_at', to_char(((current_date + 3) + time '11:00') AT TIME ZONE 'Europe/Madrid' AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
       c.id, 'olivia-madrid', 'appointment', s.id, 'sms'
  FROM (VALUES ('rosa', 'A-1101'), ('pau', 'A-1102')) AS s(contact, id) JOIN herald.contact c ON c.id = s.contact;
