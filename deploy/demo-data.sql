-- Demo data for deploy/demo: a hair salon in Madrid (es), a physiotherapy clinic
-- in Paris (fr) and a phone repair shop in Toronto (en). The templates are the
-- built-in ones (deploy/demo runs `herald templates install-defaults` first);
-- the messages carry only data: names, times, links. Dates are real timestamps
-- that the templates print in each client's language and time zone.

INSERT INTO herald.location (id, name, time_zone, lock_time_zone, address, phone) VALUES
('olivia-madrid', 'Peluquería Olivia', 'Europe/Madrid', false, 'Calle de Fuencarral 45, 28004 Madrid', '+34 910 123 456'),
('kine-bastille', 'Cabinet Kiné Bastille', 'Europe/Paris', false, '12 rue de la Roquette, 75011 Paris', '+33 1 43 00 00 00'),
('fixit-queen', 'FixIt Phones', 'America/Toronto', false, '210 Queen St W, Toronto, ON', '+1 416 555 0100');

-- The repair shop's opening hours: Mon-Fri 09:00-13:00 and 15:00-19:00 (lunch break), Sat 10:00-14:00.
INSERT INTO herald.location_hours (location_id, weekday, opens, closes)
SELECT 'fixit-queen', d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '13:00'::time), ('15:00', '19:00')) h(o, c)
UNION ALL SELECT 'fixit-queen', 6, '10:00', '14:00';
INSERT INTO herald.location_closed (location_id, day) VALUES ('fixit-queen', '2026-12-25'), ('fixit-queen', '2027-01-01');

-- Appointments two days from now at 13:00 / 09:30 / 16:15 local time; urgent = not held by quiet hours
-- (the demo should show its messages whatever the time of day it is run).
INSERT INTO herald.message (channel, recipient, template, locale, time_zone, location_id, event_at, urgent, data, send_at, postpone, dedupe_key) VALUES
('email', 'lucia.fernandez@example.es', 'appointment.confirmed', 'es-ES', 'Europe/Madrid', 'olivia-madrid',
 ((current_date + 2) + time '13:00') AT TIME ZONE 'Europe/Madrid', false,
 '{"client":{"name":"Lucía"},"service":"corte y peinado","manage_url":"https://citas.example.es/c/8f2a"}',
 now(), '0', 'appt-1001-confirmed'),
('sms', '+34600111221', 'appointment.reminder', 'es', 'Europe/Madrid', 'olivia-madrid',
 ((current_date + 2) + time '13:00') AT TIME ZONE 'Europe/Madrid', true,
 '{"client":{"name":"Lucía"},"manage_url":"https://citas.example.es/c/8f2a"}',
 now(), '0', 'appt-1001-reminder'),
('email', 'camille.martin@example.fr', 'appointment.rescheduled', 'fr-FR', 'Europe/Paris', 'kine-bastille',
 ((current_date + 2) + time '09:30') AT TIME ZONE 'Europe/Paris', false,
 jsonb_build_object('client', jsonb_build_object('name', 'Camille'), 'service', 'une séance de kinésithérapie',
                    'previous_event_at', to_char(((current_date + 1) + time '18:00') AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD"T"HH24:MI:SSOF'),
                    'manage_url', 'https://rdv.example.fr/r/77c1'),
 now(), '0', 'appt-2001-rescheduled'),
('sms', '+33612345678', 'appointment.reminder', 'fr', 'Europe/Paris', 'kine-bastille',
 ((current_date + 2) + time '09:30') AT TIME ZONE 'Europe/Paris', true,
 '{"client":{"name":"Camille"},"manage_url":"https://rdv.example.fr/r/77c1"}',
 now(), '0', 'appt-2001-reminder'),
-- "Postpone sending by one hour": stays pending; `herald explain 5` says until when.
('sms', '+33687654321', 'appointment.feedback', 'fr-FR', 'Europe/Paris', 'kine-bastille', NULL, false,
 '{"client":{"name":"Hugo"},"feedback_url":"https://avis.example.fr/f/91"}',
 now(), '1 hour', 'appt-2002-feedback'),
('email', 'sam.taylor@example.ca', 'appointment.reminder', 'en-CA', 'America/Toronto', 'fixit-queen',
 ((current_date + 2) + time '16:15') AT TIME ZONE 'America/Toronto', false,
 '{"client":{"name":"Sam"},"service":"screen replacement","confirm_url":"https://book.example.ca/c/3d9","cancel_url":"https://book.example.ca/x/3d9"}',
 now(), '0', 'appt-3001-reminder'),
('sms', '+14165550141', 'work_order.ready', 'en', 'America/Toronto', 'fixit-queen', NULL, true,
 '{"client":{"name":"Sam"},"order":{"number":"WO-5521","device":"iPhone 13","total":{"amount":"189.00","currency":"CAD"}}}',
 now(), '0', 'wo-5521-ready'),
('webhook', 'https://crm.example.ca/hooks/herald', 'work_order.status_changed', 'en', 'America/Toronto', 'fixit-queen', NULL, false,
 '{"client":{"name":"Sam"},"order":{"number":"WO-5521","status":"ready for pickup","device":"iPhone 13"}}',
 now(), '0', 'wo-5521-status-ready');

-- Only during the shop's business hours: sent now if it is open in Toronto, else deferred to the next opening.
INSERT INTO herald.message (channel, recipient, template, locale, data, location_id, business_hours_only, dedupe_key) VALUES
('sms', '+14165550143', 'work_order.ready', 'en',
 '{"client":{"name":"Priya"},"order":{"number":"WO-5530","device":"Pixel 8","total":{"amount":"95.00","currency":"CAD"}}}',
 'fixit-queen', true, 'wo-5530-ready');

INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, dedupe_key) VALUES
-- A bad row on purpose: the template uses {{order.number}}, the data has no order. It fails
-- with a readable reason (never an SMS with a hole); the rest flow.
('sms', '+14165550199', 'work_order.status_changed', 'en', 'America/Toronto', '{"client":{"name":"Alex"}}', now(), '0', NULL);
