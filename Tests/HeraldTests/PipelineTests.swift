import Foundation
import HeraldCore
import HeraldPipeline
import HeraldRender
import HeraldScheduling
import Testing

/// The pipeline alone (no I/O): every kind of decision, and the rendering step preview uses.
@Suite struct PipelineTests {
    let pipeline = Pipeline(
        catalog: TemplateCatalog(records: [TemplateRecord(key: "t", channel: "sms", locale: "en", subject: nil, body: "Hi {{name}}", html: nil)],
                                 defaultLocale: "en"),
        planner: SchedulePlanner(policy: SchedulingPolicy(defaultTimeZone: "Europe/Madrid"), records: []),
        smsMaxSegments: 1)

    func message(_ data: String = #"{"name":"Ana"}"#, channel: String = "sms", sendAt: Date = utc("2026-11-24T10:00:00Z"),
                 eventAt: Date? = nil, zone: String? = nil) -> OutboxMessage {
        OutboxMessage(id: 1, channel: channel, recipient: "+34600000001", template: "t", locale: "en", timeZone: zone, data: data,
                      attempt: 1, maxAttempts: nil, schedule: .init(sendAt: sendAt, eventAt: eventAt))
    }

    @Test func sendsWhatItRendered() {
        guard case .send(let rendered, let e) = pipeline.decide(message(), at: utc("2026-11-24T10:00:00Z")) else { Issue.record("not sent"); return }
        #expect(rendered.body == "Hi Ana" && rendered.segments == 1 && e.timeZone == "Europe/Madrid")
    }

    @Test func defersDuringQuietHoursAndExpiresTooLate() {
        let night = utc("2026-11-24T22:30:00Z")  // 23:30 in Madrid
        guard case .deferred(let until, _, _) = pipeline.decide(message(sendAt: night), at: night) else { Issue.record("not deferred"); return }
        #expect(until == utc("2026-11-25T07:00:00Z"))
        guard case .expired = pipeline.decide(message(sendAt: night, eventAt: utc("2026-11-25T06:00:00Z")), at: night) else { Issue.record("not expired"); return }
    }

    @Test func failsWithTheReasonOfTheStepThatRefused() {
        let now = utc("2026-11-24T10:00:00Z")
        func reason(_ m: OutboxMessage) -> String? {
            if case .failed(let f) = pipeline.decide(m, at: now) { return f.reason }
            return nil
        }
        #expect(reason(message(channel: "fax")) == "unknown channel \"fax\"; expected sms, email, webhook or whatsapp")
        #expect(reason(message(zone: "Mars/Olympus"))?.hasPrefix("unknown time zone \"Mars/Olympus\"") == true)
        #expect(reason(message("{}")) == "template t (en) body uses name, missing from data")
        guard case .failed(let long) = pipeline.decide(message(#"{"name":"\#(String(repeating: "a", count: 200))"}"#), at: now) else {
            Issue.record("an SMS over the segment limit was sent"); return
        }
        #expect(long.reason.contains("over the maximum of 1") && long.rendered?.segments == 2)
    }

    @Test func renderingAloneIgnoresTheHourButNotTheRules() throws {
        let night = utc("2026-11-24T22:30:00Z")
        let (rendered, zone) = try pipeline.render(message(sendAt: night), at: night).get()
        #expect(rendered.body == "Hi Ana" && zone == "Europe/Madrid")
        #expect(throws: PipelineFailure.self) { try pipeline.render(message(zone: "Mars/Olympus"), at: night).get() }
    }
}
