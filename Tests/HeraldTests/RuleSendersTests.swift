import Foundation
import Testing

/// The real binary expanding events through rules to real providers: a rule's `sms_from`
/// and a location's `email_from` are what the providers see.
@Suite struct RuleSendersTests {
    @Test func perRuleAndPerLocationSendersReachTheProviders() async throws {
        let smtp = try await Peer.start("smtp_server.py")
        let http = try await Peer.start("http_provider.py")
        try await TestDatabase.with { db in
            let path = try DeliveryEndToEndTests().config(db, smtp: smtp, http: http)
            _ = try await HeraldProcess.run(["templates", "install-defaults", "--config", path])
            try await db.execute("""
                INSERT INTO herald.location (id, name, time_zone, email_from) VALUES ('centro', 'Peluquería Sol Centro', 'Europe/Madrid', 'Sol Centro <centro@sol.example>');
                INSERT INTO herald.contact (id, name, email, phone, locale, time_zone) VALUES ('ana', 'Ana', 'ana@example.es', '+15005550001', 'es', 'Europe/Madrid');
                INSERT INTO herald.rule (name, subject_type, on_event, channels, template, sms_from, urgent) VALUES
                  ('confirm.sms', 'appointment', 'created', '{sms}', 'appointment.confirmed', '+34911999999', true),
                  ('confirm.email', 'appointment', 'created', '{email}', 'appointment.confirmed', NULL, true);
                SELECT herald.record_event('appointment', 'A-1', 'created', starts_at => now() + interval '3 days', contact_id => 'ana', location_id => 'centro');
                """)
            let run = try await HeraldProcess.run(["run", "--exit-when-idle", "--config", path], timeout: .seconds(60))
            #expect(run.0 == 0, "\(run.2)")
            #expect(try await db.statusCounts() == ["sent": 2], "\(run.2)")
            let sms = try #require(http.requests().first { $0["kind"] as? String == "sms" }?["form"] as? [String: String])
            #expect(sms["From"] == "+34911999999" && sms["To"] == "+15005550001")
            let mail = try #require(smtp.mails().first)
            #expect((mail["headers"] as? [String: String])?["From"]?.contains("centro@sol.example") == true, "\(mail)")
            #expect(try await db.scalar("SELECT string_agg(sender, ',' ORDER BY channel) FROM herald.message") == "Sol Centro <centro@sol.example>,+34911999999")
        }
    }
}
