-- Demo data for deploy/demo: a hair salon in Madrid (es), a physiotherapy clinic in Paris
-- (fr) and a phone repair shop in Toronto (en). deploy/demo installs the built-in templates
-- and the default rules first; this file only records what a booking application would:
-- the businesses, their clients, and what happened to appointments, work orders and leads.
-- Herald's rules turn those events into messages.

INSERT INTO herald.location (id, name, time_zone, lock_time_zone, address, phone, staff_email) VALUES
('olivia-madrid', 'Peluquería Olivia', 'Europe/Madrid', false, 'Calle de Fuencarral 45, 28004 Madrid', '+34 910 123 456', 'recepcion@olivia.example.es'),
('kine-bastille', 'Cabinet Kiné Bastille', 'Europe/Paris', false, '12 rue de la Roquette, 75011 Paris', '+33 1 43 00 00 00', NULL),
('fixit-queen', 'FixIt Phones', 'America/Toronto', false, '210 Queen St W, Toronto, ON', '+1 416 555 0100', 'desk@fixit.example.ca');

-- The repair shop's opening hours: Mon-Fri 09:00-13:00 and 15:00-19:00 (lunch break), Sat 10:00-14:00.
INSERT INTO herald.location_hours (location_id, weekday, opens, closes)
SELECT 'fixit-queen', d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '13:00'::time), ('15:00', '19:00')) h(o, c)
UNION ALL SELECT 'fixit-queen', 6, '10:00', '14:00';
INSERT INTO herald.location_closed (location_id, day) VALUES ('fixit-queen', '2026-12-25'), ('fixit-queen', '2027-01-01');

-- "Ready for pickup" only while the shop is open (sent now if it is, else at the next opening).
UPDATE herald.rule SET business_hours_only = true WHERE name = 'work_order.ready';

-- The clients, as the booking application knows them (preference: seeds 000/001).
INSERT INTO herald.contact (id, name, email, phone, locale, time_zone, preference, sms_consent) VALUES
('lucia', 'Lucía', 'lucia.fernandez@example.es', '+34600111221', 'es', 'Europe/Madrid', 'both', true),
('camille', 'Camille', 'camille.martin@example.fr', '+33612345678', 'fr', 'Europe/Paris', 'both', true),
('hugo', 'Hugo', 'hugo.bernard@example.fr', '+33687654321', 'fr', 'Europe/Paris', 'sms', true),
('sam', 'Sam', 'sam.taylor@example.ca', '+14165550141', 'en', 'America/Toronto', 'both', true),
('priya', 'Priya', 'priya.shah@example.ca', '+14165550143', 'en', 'America/Toronto', 'sms', true),
('noor', 'Noor', 'noor@example.ca', NULL, 'en', 'America/Toronto', 'email', NULL);

-- Lucía books a haircut two days from now at 13:00: confirmation (SMS + email), a reminder the
-- day before, and a note to the salon's front desk.
SELECT herald.record_event('appointment', 'A-1001', 'created',
    starts_at => ((current_date + 2) + time '13:00') AT TIME ZONE 'Europe/Madrid', contact_id => 'lucia',
    location_id => 'olivia-madrid', status => 'confirmed',
    data => '{"service":"corte y peinado","manage_url":"https://citas.example.es/c/8f2a"}');

-- Lucía also booked a colour for this time tomorrow (plus 20 seconds): its 1-day reminder goes
-- in 20 seconds (a reminder whose time has already passed would be skipped as too late).
-- With Herald's listener on (deploy/demo turns it on), the reminder's confirm / cancel / manage
-- links are Herald's own signed links: open one, click "confirm", and Lucía's acknowledgement
-- and the salon's notice follow (seed 003).
SELECT herald.record_event('appointment', 'A-1002', 'created',
    starts_at => (now() AT TIME ZONE 'Europe/Madrid' + interval '1 day 20 seconds') AT TIME ZONE 'Europe/Madrid', contact_id => 'lucia',
    location_id => 'olivia-madrid', data => '{"service":"color"}');

-- Camille booked physiotherapy for three days from now at 18:00, then moved it to 09:30 a day
-- earlier: the
-- reminder planned for the old time is cancelled, a new one follows the appointment, and she
-- gets a "your appointment has moved" message.
SELECT herald.record_event('appointment', 'A-2001', 'created',
    starts_at => ((current_date + 3) + time '18:00') AT TIME ZONE 'Europe/Paris', contact_id => 'camille',
    location_id => 'kine-bastille', data => '{"service":"une séance de kinésithérapie","manage_url":"https://rdv.example.fr/r/77c1"}');
SELECT herald.record_event('appointment', 'A-2001', 'time_changed',
    starts_at => ((current_date + 2) + time '09:30') AT TIME ZONE 'Europe/Paris',
    previous_starts_at => ((current_date + 3) + time '18:00') AT TIME ZONE 'Europe/Paris', contact_id => 'camille',
    location_id => 'kine-bastille', data => '{"service":"une séance de kinésithérapie","manage_url":"https://rdv.example.fr/r/77c1"}');

-- Hugo's session just ended: "how was it?" an hour later (he prefers SMS).
SELECT herald.record_event('appointment', 'A-2002', 'completed',
    starts_at => now() - interval '1 hour', ends_at => now() - interval '5 minutes', contact_id => 'hugo',
    location_id => 'kine-bastille', data => '{"feedback_url":"https://avis.example.fr/f/91"}');

-- Sam books a screen replacement in Toronto, then cancels it: the reminders never go, he gets
-- the cancellation at once (urgent: quiet hours do not hold it), and so does the shop's desk.
SELECT herald.record_event('appointment', 'A-3001', 'created',
    starts_at => ((current_date + 2) + time '16:15') AT TIME ZONE 'America/Toronto', contact_id => 'sam',
    location_id => 'fixit-queen', data => '{"service":"screen replacement"}');
SELECT herald.record_event('appointment', 'A-3001', 'cancelled',
    starts_at => ((current_date + 2) + time '16:15') AT TIME ZONE 'America/Toronto', contact_id => 'sam',
    location_id => 'fixit-queen', data => '{"service":"screen replacement","reason":"the part is out of stock"}');

-- Seed 002's manual approval. Inés asks for a manicure: her booking waits for the salon's
-- approval, so she is told it is pending (not confirmed) and gets no reminder; the salon
-- approves it, and the confirmation and the reminders follow.
INSERT INTO herald.contact (id, name, email, phone, locale, time_zone, preference, sms_consent) VALUES
('ines', 'Inés', 'ines.garcia@example.es', '+34600111225', 'es', 'Europe/Madrid', 'both', true),
('marc', 'Marc', 'marc.dubois@example.fr', '+33611223344', 'fr', 'Europe/Paris', 'email', NULL);
SELECT herald.record_event('appointment', 'A-1003', 'created',
    starts_at => ((current_date + 4) + time '11:00') AT TIME ZONE 'Europe/Madrid', contact_id => 'ines',
    location_id => 'olivia-madrid', status => 'pending', data => '{"service":"manicura","manage_url":"https://citas.example.es/c/1n3s"}');
SELECT herald.record_event('appointment', 'A-1003', 'status_changed', status => 'confirmed', previous_status => 'pending',
    starts_at => ((current_date + 4) + time '11:00') AT TIME ZONE 'Europe/Madrid', contact_id => 'ines',
    location_id => 'olivia-madrid', data => '{"service":"manicura","manage_url":"https://citas.example.es/c/1n3s"}');
-- Marc asks for a session the clinic cannot give: it declines the request. He is told, and
-- nothing else for that booking goes: no confirmation, no reminder (anything still waiting
-- for it is cancelled).
SELECT herald.record_event('appointment', 'A-2003', 'created',
    starts_at => ((current_date + 5) + time '08:00') AT TIME ZONE 'Europe/Paris', contact_id => 'marc',
    location_id => 'kine-bastille', status => 'pending', data => '{"service":"une séance de rééducation"}');
SELECT herald.record_event('appointment', 'A-2003', 'status_changed', status => 'declined', previous_status => 'pending',
    starts_at => ((current_date + 5) + time '08:00') AT TIME ZONE 'Europe/Paris', contact_id => 'marc',
    location_id => 'kine-bastille', data => '{"service":"une séance de rééducation","reason":"le cabinet est fermé ce matin-là"}');

-- Seed 000: "confirm the client's number has not changed". Tomás books for this time tomorrow
-- plus 40 seconds (his reminder is due in 40 seconds); deploy/demo then corrects his number
-- (deploy/demo-later.sql) before the reminder goes, and the new number receives it. He is
-- travelling: his zone is one where it is daytime now, so no quiet hour holds the SMS.
INSERT INTO herald.contact (id, name, email, phone, locale, time_zone, preference, sms_consent)
SELECT 'tomas', 'Tomás', NULL, '+34600111230', 'es', z, 'sms', true
  FROM unnest(ARRAY['Europe/Madrid', 'America/Argentina/Buenos_Aires', 'America/Mexico_City', 'America/Tijuana', 'Asia/Manila',
                    'Pacific/Auckland']) z
 WHERE extract(hour FROM now() AT TIME ZONE z) BETWEEN 9 AND 19
 LIMIT 1;
SELECT herald.record_event('appointment', 'A-1004', 'created', starts_at => now() + interval '1 day 40 seconds',
    contact_id => 'tomas', location_id => 'olivia-madrid', data => '{"service":"barba","manage_url":"https://citas.example.es/c/t0m4"}');

-- Seed 000: "the client says they never got it". Olga books by email with an address that
-- does not exist: her confirmation goes out, the receiving server bounces it, deploy/demo
-- hands the bounce to `herald ingest-mail`, and herald.unreachable says why her reminder
-- never goes.
INSERT INTO herald.contact (id, name, email, phone, locale, time_zone, preference, sms_consent) VALUES
('olga', 'Olga', 'olga.martin@correo.invalid', NULL, 'es', 'Europe/Madrid', 'email', NULL);
SELECT herald.record_event('appointment', 'A-1005', 'created',
    starts_at => ((current_date + 3) + time '11:00') AT TIME ZONE 'Europe/Madrid', contact_id => 'olga',
    location_id => 'olivia-madrid', data => '{"service":"manicura"}');

-- Work orders at the repair shop: "status changed to ready" (only that status has a rule on).
SELECT herald.record_event('work_order', 'WO-5521', 'status_changed', status => 'in_repair', previous_status => 'received',
    contact_id => 'sam', location_id => 'fixit-queen', data => '{"order":{"number":"WO-5521","device":"iPhone 13"}}');
SELECT herald.record_event('work_order', 'WO-5530', 'status_changed', status => 'ready', previous_status => 'in_repair',
    contact_id => 'priya', location_id => 'fixit-queen',
    data => '{"order":{"number":"WO-5530","device":"Pixel 8","total":{"amount":"95.00","currency":"CAD"}}}');

-- An enquiry: acknowledged by email, and the desk is told.
SELECT herald.record_event('lead', 'L-77', 'created', contact_id => 'noor', location_id => 'fixit-queen',
    data => '{"lead":{"subject":"battery replacement quote"}}');

-- A host can still enqueue directly. A bad row on purpose: the template uses {{order.number}},
-- the data has no order. Urgent, so no quiet hour holds it: whatever the time of day, it fails
-- with a readable reason (never an SMS with a hole); the rest flow.
INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, urgent) VALUES
('sms', '+14165550199', 'work_order.status_changed', 'en', 'America/Toronto', '{"client":{"name":"Alex"}}', true);
