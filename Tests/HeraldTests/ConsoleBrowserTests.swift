import Foundation
import Testing

/// The console in headless Chromium against `herald run` and a real PostgreSQL, with
/// JavaScript off (every page works from its forms), checked for accessibility on every
/// page visited. The screenshots in docs/console.md come from these runs.
@Suite struct ConsoleBrowserTests {
    @Test func anOperatorFindsWhyAClientGotNothingRetriesAFailedBatchAndSignsOut() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let daemon = try await ConsoleDaemon.start(db) { _ in
                try await db.execute("""
                    INSERT INTO herald.contact (id, name, email, phone, locale) VALUES ('ana', 'Ana Pérez', 'ana@example.es', '+34 600 000 001', 'es');
                    INSERT INTO herald.opt_out (channel, recipient, reason, source) VALUES ('sms', '+34600000001', 'replied BAJA (inbound 7)', 'keyword');
                    INSERT INTO herald.message (channel, recipient, template, data, locale, contact_id)
                    VALUES ('sms', '+34600000001', 'appointment.reminder', '{}', 'es', 'ana');
                    INSERT INTO herald.template (key, channel, locale, subject, body) VALUES ('desk.note', 'email', 'es', 'Aviso', 'Hay una cita nueva.');
                    INSERT INTO herald.message (channel, recipient, template, data, status, last_error, attempts, locale)
                    SELECT 'email', 'front-desk@clinic.example', 'desk.note', '{}', 'failed', 'smtp 451 try again later (attempt 5)', 5, 'es'
                      FROM generate_series(1, 3);
                    """)
            }
            defer { daemon.herald.signal(SIGKILL) }
            _ = try await db.waitForScalar("SELECT id FROM herald.message WHERE contact_id = 'ana' AND status = 'suppressed'")
            let failed = try await db.waitForScalar("SELECT min(id) FROM herald.message WHERE status = 'failed'")
            let r = try await daemon.browse("operator", [
                "user": .string("operator-u"), "password": .string(ConsoleUsers.password("operator-u")),
                "client_query": .string("pérez"), "client_name": .string("Ana Pérez"),
                "failed_recipient": .string("front-desk@clinic.example"), "failed_id": .string(failed),
            ])
            #expect(r.problems.isEmpty, "\(r.problems)")
            #expect(r.seen.text("charts") == "2")
            #expect(r.seen.text("dashboard").contains("Suppressed") && r.seen.text("dashboard").contains("Health"))
            let client = r.seen.text("client")
            #expect(client.contains("Opted out of sms") && client.contains("a keyword reply (STOP, START…)") && client.contains("replied BAJA"), "\(client)")
            #expect(client.contains("Not sent, on purpose:") && client.contains("Opt back in") && client.contains("opt the client back in first"), "\(client)")
            #expect(r.seen.text("failed_listed") == "3")
            #expect(r.seen.text("confirm") == "Retry 3 messages?")
            #expect(r.seen.text("after_retry") == "Done: 3 messages.")
            #expect(r.seen.text("without_csrf") == "403")
            #expect(r.seen.text("after_sign_out").contains("/console/sign-in"))
            // Retried: the daemon sends them again (the file driver accepts them).
            let resent = try await db.waitUntil(timeout: .seconds(30)) {
                try await db.scalar("SELECT count(*) FROM herald.message WHERE recipient = 'front-desk@clinic.example' AND status = 'sent'") == "3"
            }
            #expect(resent, "\(daemon.herald.stderr)")
            #expect(try await db.scalar("SELECT string_agg(action || ' ' || count || ' ' || result, ', ' ORDER BY id) FROM herald.audit_log WHERE actor_name = 'operator-u' AND action LIKE 'messages.bulk%'")
                    == "messages.bulk_retry.dry_run 3 ok, messages.bulk_retry 3 ok", "the dry run and the action")
            #expect(Set(r.shots.keys) == ["dashboard", "client"])
        } }
    }

    @Test func anEditorPreviewsChecksTheImpactSavesATemplateAndChangesTwoRules() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let daemon = try await ConsoleDaemon.start(db) { _ in
                try await db.execute("""
                    INSERT INTO herald.location (id, name, time_zone) VALUES ('olivia', 'Peluquería Olivia', 'Europe/Madrid');
                    INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES ('lucia', 'Lucía', 'lucia@example.es', '+34600111221', 'es', 'Europe/Madrid');
                    SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '3 days', contact_id => 'lucia', location_id => 'olivia',
                                               data => '{"service":"corte"}');
                    """)
            }
            defer { daemon.herald.signal(SIGKILL) }
            _ = try await db.waitForScalar("SELECT count(*) FROM herald.message WHERE template = 'appointment.reminder' AND channel = 'sms' AND status = 'pending' HAVING count(*) > 0")
            let text = "Peluquería Olivia: recuerda tu cita.\nMás información en recepción."
            let r = try await daemon.browse("editor", [
                "user": .string("editor-u"), "password": .string(ConsoleUsers.password("editor-u")),
                "template": .string("appointment.reminder/sms/es"), "text": .string(text),
                "live_text": .string("Hola {{client.name}}, te esperamos pronto."), "live_expect": .string(", te esperamos pronto."),
                "rules": .array([.string("appointment.reminder.6h"), .string("appointment.confirmation")]),
            ])
            #expect(r.problems.isEmpty, "\(r.problems)")
            let preview = r.seen.text("preview")
            #expect(preview.contains(text) && preview.contains("UCS-2") && preview.contains("á"), "\(preview)")
            #expect(r.seen.text("impact").contains("pending messages use this template"), "\(r.seen.text("impact"))")
            #expect(r.seen.text("saved") == "The template is saved.")
            #expect(r.seen.text("history").contains("user editor-u"))
            #expect(try await db.scalar("SELECT body FROM herald.template WHERE key = 'appointment.reminder' AND channel = 'sms' AND locale = 'es'") == text)
            #expect(try await db.scalar("SELECT author FROM herald.template_version WHERE key = 'appointment.reminder' AND channel = 'sms' AND locale = 'es' ORDER BY version DESC LIMIT 1")
                    == "user editor-u")
            let preview2 = r.seen.text("rules_preview")
            #expect(preview2.contains("appointment.reminder.6h") && preview2.contains("appointment.confirmation"))
            #expect(r.seen.text("rules_after").contains("The rules are changed."))
            #expect(try await db.scalar("SELECT string_agg(name || '=' || array_to_string(channels, ','), ' ' ORDER BY name) FROM herald.rule WHERE name IN ('appointment.reminder.6h', 'appointment.confirmation')")
                    == "appointment.confirmation=email appointment.reminder.6h=email")
            let live = r.seen.text("live_preview")
            #expect(live.contains("te esperamos pronto") && live.hasPrefix("Hola ") && !live.contains("{{"), "with JavaScript the preview follows the typing: \(live)")
            #expect(r.shots.keys.contains("template-editor"))
        } }
    }

    @Test func aViewerSeesNoActionAndAForgedPostIsRefused() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let daemon = try await ConsoleDaemon.start(db) { _ in
                try await db.execute("""
                    INSERT INTO herald.contact (id, name, email) VALUES ('bea', 'Bea', 'bea@example.es');
                    INSERT INTO herald.message (channel, recipient, template, data, status, last_error, contact_id)
                    VALUES ('email', 'bea@example.es', 'appointment.reminder', '{}', 'failed', 'smtp 550 no such mailbox', 'bea');
                    INSERT INTO herald.undeliverable (channel, recipient, reason, detail, message_id) VALUES ('email', 'bea@example.es', 'hard_bounce', '5.1.1 no such mailbox', 1);
                    """)
            }
            defer { daemon.herald.signal(SIGKILL) }
            let id = try await db.waitForScalar("SELECT id FROM herald.message WHERE contact_id = 'bea'")
            let r = try await daemon.browse("viewer", [
                "user": .string("viewer-u"), "password": .string(ConsoleUsers.password("viewer-u")),
                "client_path": .string("/console/clients/bea"), "failed_id": .string(id),
            ])
            #expect(r.problems.isEmpty, "\(r.problems)")
            #expect(r.seen.text("buttons") == "Sign out", "a viewer gets no action buttons: \(r.seen.text("buttons"))")
            #expect(r.seen.text("forged") == "403")
            // The same reachability as herald.unreachable and the API's contact page.
            #expect(r.seen.text("reach").contains("Not by email (bea@example.es): the address does not exist (it bounced) — 5.1.1 no such mailbox"), "\(r.seen.text("reach"))")
            #expect(r.seen.text("users_status_title") == "Not done")
            #expect(r.shots.keys.contains("viewer-client"))
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = \(id)") == "failed")
            #expect(try await db.scalar("SELECT result FROM herald.audit_log WHERE action = 'message.retry' AND actor_name = 'viewer-u'") == "refused: needs operator")
        } }
    }
}
