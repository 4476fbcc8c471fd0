import Foundation
import HeraldCore
import HeraldInbound
import HeraldPipeline
import HeraldRender
import HeraldScheduling
import Testing

/// Answer links and answer words, without I/O: tokens, reply words, the built-in texts and
/// the pipeline filling the links.
@Suite struct AnswerLogicTests {
    let key = Array("0123456789abcdef0123456789abcdef".utf8)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aTokenVerifiesOnlyWithItsKeyUntilItExpires() throws {
        let token = AnswerToken(messageID: 42, subjectType: "appointment", subjectID: "A-1042 / ñ", action: .decline, expires: 1_800_000_060)
        let signed = token.sign(key: key)
        #expect(signed.hasPrefix("a1.") && signed.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        #expect(try AnswerToken.verify(signed, key: key, now: now).get() == token)
        #expect(AnswerToken.verify(signed, key: key, now: now.addingTimeInterval(60)) == .failure(.expired(token)), "at its expiry")
        #expect(AnswerToken.verify(signed, key: Array(repeating: 1, count: 32), now: now) == .failure(.invalid))
        // Any changed character of payload or MAC, a truncation, or another version is refused.
        for i in stride(from: 3, to: signed.count, by: 7) where signed[signed.index(signed.startIndex, offsetBy: i)] != "." {
            var chars = Array(signed)
            chars[i] = chars[i] == "x" ? "y" : "x"
            #expect(AnswerToken.verify(String(chars), key: key, now: now) == .failure(.invalid), "changed at \(i)")
        }
        #expect(AnswerToken.verify(String(signed.dropLast(2)), key: key, now: now) == .failure(.invalid))
        #expect(AnswerToken.verify("v1" + signed.dropFirst(2), key: key, now: now) == .failure(.invalid))
        // An unsubscribe token is not an answer token, nor the reverse: the MAC covers the version.
        let unsubscribe = UnsubscribeToken(messageID: 42, channel: "email", recipient: "a@b.c").sign(key: key)
        #expect(AnswerToken.verify(unsubscribe, key: key, now: now) == .failure(.invalid))
        #expect(UnsubscribeToken.verify("v1" + signed.dropFirst(2), key: key) == nil)
        #expect(AnswerToken.verify(String(repeating: "a", count: 5000), key: key, now: now) == .failure(.invalid))
    }

    @Test func linksExpireAtTheAppointmentOrAfterTheirLifetime() throws {
        let links = AnswerLinks(publicURL: "https://h.example/x/", key: key, lifetimeWithoutStart: .seconds(3600))
        let start = now.addingTimeInterval(86_400)
        let urls = links.urls(messageID: 7, subjectType: "appointment", subjectID: "A-1", eventAt: start, now: now)
        #expect(Set(urls.keys) == ["confirm_url", "cancel_url", "manage_url"])
        for (name, action) in [("confirm_url", AnswerAction.confirm), ("cancel_url", .decline), ("manage_url", .manage)] {
            let url = try #require(urls[name])
            #expect(url.hasPrefix("https://h.example/x/answer/a1."))
            let token = try AnswerToken.verify(String(url.dropFirst("https://h.example/x/answer/".count)), key: key, now: now).get()
            #expect(token.action == action && token.messageID == 7 && token.subjectID == "A-1" && token.expires == 1_800_086_400)
        }
        for eventAt in [nil, Date(timeIntervalSince1970: .infinity)] {
            let open = try #require(links.urls(messageID: 7, subjectType: "a", subjectID: "1", eventAt: eventAt, now: now)["confirm_url"])
            #expect(try AnswerToken.verify(String(open.split(separator: "/").last ?? ""), key: key, now: now).get().expires == 1_800_003_600)
        }
    }

    @Test func answerWordsNeverTakeThePlaceOfAnOptOut() {
        let words = ReplyKeywords.standard
        for (reply, answer) in [("1", AnswerAction.confirm), (" sí. ", .confirm), ("Oui !", .confirm), ("yes", .confirm), ("SI", .confirm),
                                ("2", .decline), ("No", .decline), ("non.", .decline)] {
            #expect(words.answer(reply) == answer, "\(reply)")
        }
        for reply in ["CANCEL", "cancel", "Stop", "baja", "arrêt", "3", "maybe", "1 2", ""] {
            #expect(words.answer(reply) == nil, "\(reply)")
        }
        #expect(words.optOut.isDisjoint(with: words.confirm.union(words.decline)))
        // Even a configured list that slipped an opt-out word in cannot answer with it.
        let careless = ReplyKeywords(optOut: ["STOP", "CANCEL"], optIn: [], help: [], confirm: ["1"], decline: ["2", "CANCEL"])
        #expect(careless.answer("cancel") == nil)
    }

    /// A built-in SMS never invites a client to reply "cancel", in any language: carriers
    /// treat CANCEL as STOP, so the client would be opted out of everything. (Replying STOP,
    /// BAJA or ARRET to stop messages is what the HELP and START answers say, on purpose.)
    @Test func noBuiltinSMSInvitesAReplyWithCancel() {
        let optOut: Set = ["CANCEL", "CANCELAR", "CANCELA", "CANCELE", "ANNULER", "ANNULE", "ANNULEZ", "ANULAR", "ANULA"]
        let asks = ["REPLY", "RESPOND", "REPOND", "ENVIA", "TEXT", "ESCRIB"]
        for record in BuiltinTemplates.records + BuiltinTemplates.withReplies([]) where record.channel == "sms" {
            for sentence in record.body.split(whereSeparator: { ".!?".contains($0) }) {
                let folded = ReplyKeywords.fold(String(sentence))
                guard asks.contains(where: folded.contains) else { continue }
                let words = Set(folded.split(whereSeparator: { !$0.isLetter }).map(String.init))
                #expect(words.isDisjoint(with: optOut), "\(record.key) \(record.locale): \(sentence)")
            }
        }
    }

    @Test func theReminderSMSAsksForAReplyOnlyWhenRepliesAnswer() throws {
        for (locale, phrase) in [("es", "Responde 1 para confirmar o 2"), ("fr", "Répondez 1 pour confirmer ou 2"), ("en", "Reply 1 to confirm or 2")] {
            let data = #"{"location":{"name":"Sol"},"event_at":"2026-05-12T13:00:00+02:00","manage_url":"https://h.example/answer/a1.x","#
            let byReply = try renderBuiltin("appointment.reminder", .sms, locale, data: data + #""answer_by_reply":true}"#)
            #expect(byReply.body.contains(phrase) && !byReply.body.contains("https://"), "\(byReply.body)")
            #expect((byReply.segments ?? 9) <= 2, "\(byReply.body)")
            let byLink = try renderBuiltin("appointment.reminder", .sms, locale, data: data + #""answer_by_reply":false}"#)
            #expect(!byLink.body.contains(phrase) && byLink.body.contains("https://h.example/answer/a1.x"), "\(byLink.body)")
        }
    }

    @Test func thePipelineFillsTheLinksOfMessagesWithASubjectUnlessTheHostGaveThem() throws {
        let email = TemplateRecord(key: "r", channel: "email", locale: "en", subject: "s",
                                   body: "{{confirm_url}} {{cancel_url}} {{manage_url}} {{#answer_by_reply}}reply{{/answer_by_reply}}", html: nil)
        let sms = TemplateRecord(key: "r", channel: "sms", locale: "en", subject: nil, body: "{{#answer_by_reply}}Reply 1{{/answer_by_reply}}", html: nil)
        let pipeline = Pipeline(catalog: TemplateCatalog(records: [email, sms], defaultLocale: "en"),
                                planner: SchedulePlanner(policy: SchedulingPolicy(quietHours: [:]), records: []), smsMaxSegments: 3,
                                links: .init(answers: AnswerLinks(publicURL: "https://h.example", key: key),
                                             unsubscribe: UnsubscribeLinks(publicURL: "https://h.example", key: key), byReply: true))
        var message = OutboxMessage(id: 5, channel: "email", recipient: "a@b.c", template: "r", locale: "en", timeZone: "UTC", data: "{}",
                                    attempt: 1, maxAttempts: nil, schedule: .init(sendAt: now, eventAt: now.addingTimeInterval(7200)))
        message.subject = .init(type: "appointment", id: "A-9")
        let body = try pipeline.render(message, at: now).get().0.body
        let tokens = body.split(separator: " ").prefix(3).map { String($0.dropFirst("https://h.example/answer/".count)) }
        #expect(try tokens.map { try AnswerToken.verify($0, key: key, now: now).get().action } == [.confirm, .decline, .manage], "\(body)")
        #expect(try AnswerToken.verify(tokens[0], key: key, now: now).get().expires == Int64(now.timeIntervalSince1970) + 7200)
        #expect(!body.contains("reply"), "replies answer SMS only")
        message.channel = "sms"
        #expect(try pipeline.render(message, at: now).get().0.body == "Reply 1")

        message.channel = "email"
        message.data = #"{"confirm_url":"https://host.example/c/1"}"#
        #expect(try pipeline.render(message, at: now).get().0.body.hasPrefix("https://host.example/c/1 https://h.example/answer/a1."))
        message.subject = nil
        message.data = #"{"confirm_url":"x","cancel_url":"y","manage_url":"z"}"#
        #expect(try pipeline.render(message, at: now).get().0.body == "x y z ", "no subject: nothing to answer about")
    }
}
