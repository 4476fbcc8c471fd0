-- Demo data for deploy/demo: a hair salon in Madrid (es), a physiotherapy clinic
-- in Paris (fr) and a phone repair shop in Toronto (en). Dates are pre-formatted
-- strings here; localised formatting helpers belong to the templates issue.

INSERT INTO herald.template (key, channel, locale, subject, body, html) VALUES
('appointment.confirmed', 'email', 'es', 'Cita confirmada: {{service}} el {{when}}',
 E'Hola {{client_name}}:\n\nTu cita de {{service}} en {{business}} está confirmada para el {{when}}.\n{{#manage_url}}Si necesitas cambiarla o cancelarla: {{manage_url}}\n{{/manage_url}}\n¡Te esperamos!\n{{business}} · {{address}}',
 '<p>Hola {{client_name}}:</p><p>Tu cita de <strong>{{service}}</strong> en {{business}} está confirmada para el <strong>{{when}}</strong>.</p>{{#manage_url}}<p><a href="{{manage_url}}">Cambiar o cancelar la cita</a></p>{{/manage_url}}<p>¡Te esperamos!<br>{{business}} · {{address}}</p>'),
('appointment.reminder', 'sms', 'es', NULL,
 'Hola {{client_name}}, te recordamos tu cita en {{business}} el {{when}}. Para cambiarla: {{manage_url}}', NULL),
('appointment.confirmed', 'email', 'fr', 'Rendez-vous confirmé : {{service}} le {{when}}',
 E'Bonjour {{client_name}},\n\nVotre rendez-vous « {{service}} » chez {{business}} est confirmé pour le {{when}}.\n{{#manage_url}}Pour le modifier ou l''annuler : {{manage_url}}\n{{/manage_url}}\nÀ bientôt,\n{{business}} · {{address}}',
 '<p>Bonjour {{client_name}},</p><p>Votre rendez-vous « {{service}} » chez {{business}} est confirmé pour le <strong>{{when}}</strong>.</p>{{#manage_url}}<p><a href="{{manage_url}}">Modifier ou annuler</a></p>{{/manage_url}}<p>À bientôt,<br>{{business}} · {{address}}</p>'),
('appointment.reminder', 'sms', 'fr', NULL,
 'Bonjour {{client_name}}, rappel de votre rendez-vous chez {{business}} le {{when}}. Pour le modifier : {{manage_url}}', NULL),
('feedback.request', 'sms', 'fr', NULL,
 'Merci de votre visite chez {{business}}, {{client_name}} ! Votre avis compte : {{feedback_url}}', NULL),
('appointment.confirmed', 'email', 'en', 'Appointment confirmed: {{service}} on {{when}}',
 E'Hi {{client_name}},\n\nYour {{service}} appointment at {{business}} is confirmed for {{when}}.\n{{#manage_url}}Need to reschedule or cancel? {{manage_url}}\n{{/manage_url}}\nSee you soon,\n{{business}} · {{address}}',
 '<p>Hi {{client_name}},</p><p>Your <strong>{{service}}</strong> appointment at {{business}} is confirmed for <strong>{{when}}</strong>.</p>{{#manage_url}}<p><a href="{{manage_url}}">Reschedule or cancel</a></p>{{/manage_url}}<p>See you soon,<br>{{business}} · {{address}}</p>'),
('workorder.ready', 'sms', 'en', NULL,
 'Hi {{client_name}}, your {{device}} is repaired and ready for pickup at {{business}} (order {{order}}). Total: {{total}}.', NULL),
('workorder.status', 'webhook', 'en', NULL,
 '{"event":"workorder.status","order":"{{order}}","status":"{{status}}","device":"{{device}}"}', NULL);

-- The repair shop's opening hours: Mon-Fri 09:00-13:00 and 15:00-19:00 (lunch break), Sat 10:00-14:00.
INSERT INTO herald.location (id, name, time_zone, lock_time_zone) VALUES ('fixit-queen', 'FixIt Phones', 'America/Toronto', false);
INSERT INTO herald.location_hours (location_id, weekday, opens, closes)
SELECT 'fixit-queen', d, o, c FROM generate_series(1, 5) d, (VALUES ('09:00'::time, '13:00'::time), ('15:00', '19:00')) h(o, c)
UNION ALL SELECT 'fixit-queen', 6, '10:00', '14:00';
INSERT INTO herald.location_closed (location_id, day) VALUES ('fixit-queen', '2026-12-25'), ('fixit-queen', '2027-01-01');

INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, dedupe_key) VALUES
('email', 'lucia.fernandez@example.es', 'appointment.confirmed', 'es-ES', 'Europe/Madrid',
 '{"client_name":"Lucía","service":"corte y peinado","business":"Peluquería Olivia","address":"Calle de Fuencarral 45, Madrid","when":"martes 10 de mayo a las 13:00","manage_url":"https://citas.example.es/c/8f2a"}',
 now(), '0', 'appt-1001-confirmed'),
('sms', '+34600111222', 'appointment.reminder', 'es', 'Europe/Madrid',
 '{"client_name":"Lucía","business":"Peluquería Olivia","when":"martes 10 de mayo a las 13:00","manage_url":"https://citas.example.es/c/8f2a"}',
 now(), '0', 'appt-1001-reminder'),
('email', 'camille.martin@example.fr', 'appointment.confirmed', 'fr-FR', 'Europe/Paris',
 '{"client_name":"Camille","service":"Séance de kinésithérapie","business":"Cabinet Kiné Bastille","address":"12 rue de la Roquette, Paris","when":"jeudi 12 mai à 9h30"}',
 now(), '0', 'appt-2001-confirmed'),
('sms', '+33612345678', 'appointment.reminder', 'fr', 'Europe/Paris',
 '{"client_name":"Camille","business":"Cabinet Kiné Bastille","when":"jeudi 12 mai à 9h30","manage_url":"https://rdv.example.fr/r/77c1"}',
 now(), '0', 'appt-2001-reminder'),
-- "Postpone sending by one hour": stays pending; `herald explain 5` says until when.
('sms', '+33687654321', 'feedback.request', 'fr-FR', 'Europe/Paris',
 '{"client_name":"Hugo","business":"Cabinet Kiné Bastille","feedback_url":"https://avis.example.fr/f/91"}',
 now(), '1 hour', 'appt-2002-feedback'),
('email', 'sam.taylor@example.ca', 'appointment.confirmed', 'en-CA', 'America/Toronto',
 '{"client_name":"Sam","service":"screen replacement","business":"FixIt Phones","address":"210 Queen St W, Toronto","when":"Friday, May 13 at 4:15 PM","manage_url":"https://book.example.ca/m/3d9"}',
 now(), '0', 'appt-3001-confirmed'),
('sms', '+14165550142', 'workorder.ready', 'en', 'America/Toronto',
 '{"client_name":"Sam","device":"iPhone 13","business":"FixIt Phones","order":"WO-5521","total":"$189.00"}',
 now(), '0', 'wo-5521-ready'),
('webhook', 'https://crm.example.ca/hooks/herald', 'workorder.status', 'en', 'America/Toronto',
 '{"order":"WO-5521","status":"ready","device":"iPhone 13"}',
 now(), '0', 'wo-5521-status-ready');

-- Only during the shop's business hours: sent now if it is open in Toronto, else deferred to the next opening.
INSERT INTO herald.message (channel, recipient, template, locale, data, location_id, business_hours_only, dedupe_key) VALUES
('sms', '+14165550143', 'workorder.ready', 'en',
 '{"client_name":"Priya","device":"Pixel 8","business":"FixIt Phones","order":"WO-5530","total":"$95.00"}',
 'fixit-queen', true, 'wo-5530-ready');

INSERT INTO herald.message (channel, recipient, template, locale, time_zone, data, send_at, postpone, dedupe_key) VALUES
-- A bad row on purpose: no such template. It fails with a readable reason; the rest flow.
('sms', '+14165550199', 'appointment.no_show', 'en', 'America/Toronto', '{"client_name":"Alex"}', now(), '0', NULL);
