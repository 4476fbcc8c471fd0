-- deploy/demo, after Herald has expanded the demo's events and before Tomás's reminder is
-- due: he tells the salon his number changed. The booking application updates the client;
-- Herald's pending messages for him follow (seed 000's first troubleshooting step).
UPDATE herald.contact SET phone = '+34 611 555 777', updated_at = now() WHERE id = 'tomas';
