import Foundation
import HeraldCore
import HeraldInbound
import Testing

/// The pure parts of the inbound path: keywords, Twilio signatures, recipient keys.
@Suite struct InboundLogicTests {
    @Test(arguments: [
        ("STOP", ReplyKeywords.Meaning.optOut("STOP")), (" stop ", .optOut("STOP")), ("Stop.", .optOut("STOP")),
        ("Baja", .optOut("BAJA")), ("arrêt", .optOut("ARRET")), ("ARRÊT!", .optOut("ARRET")), ("Arret", .optOut("ARRET")),
        ("unsubscribe", .optOut("UNSUBSCRIBE")), ("STOPALL", .optOut("STOPALL")), ("quit", .optOut("QUIT")),
        ("start", .optIn("START")), ("Alta", .optIn("ALTA")), ("yes", .optIn("YES")), ("UNSTOP", .optIn("UNSTOP")),
        ("help", .help("HELP")), ("Ayuda", .help("AYUDA")), ("aide", .help("AIDE")), ("INFO", .help("INFO")),
        ("No puedo ir el martes", .text), ("", .text), ("s t o p", .optOut("STOP")), ("!!", .text), ("Top", .text),
        // Punctuation, symbols and emoji are not part of a word; a short reply that starts with an opt-out word opts out.
        ("STOP!!", .optOut("STOP")), ("stop please", .optOut("STOP")), ("STOP🙏", .optOut("STOP")), ("¡Baja, por favor!", .optOut("BAJA")),
        ("STOP STOP", .optOut("STOP")), ("ＳＴＯＰ", .optOut("STOP")), ("opt out", .optOut("OPTOUT")), ("Opt-out please", .optOut("OPTOUT")),
        ("Arrêt s'il vous plaît", .optOut("ARRET")), ("stop sending me messages please", .optOut("STOP")),
        ("Stop by the shop at five", .text), ("Cancel my appointment", .text), ("End at 6?", .text), ("CANCEL!", .optOut("CANCEL")), ("please stop", .text), ("start please", .text),
        ("START!!", .optIn("START")), ("help?", .help("HELP")),
        // Seed 001: "il peut répondre Commencer pour se réinscrire"; and what a Spanish or French client would send.
        ("Commencer.", .optIn("COMMENCER")), ("commencer", .optIn("COMMENCER")), ("Reprendre", .optIn("REPRENDRE")),
        ("Démarrer", .optIn("DEMARRER")), ("réabonner", .optIn("REABONNER")), ("Iniciar", .optIn("INICIAR")),
        ("reanudar", .optIn("REANUDAR")), ("Suscribir", .optIn("SUSCRIBIR")), ("subscribe", .optIn("SUBSCRIBE")),
        ("Commencer à 10h ?", .text),
    ])
    func repliesAreReadAsAWholeCaseAndAccentInsensitive(_ body: String, _ meaning: ReplyKeywords.Meaning) {
        #expect(ReplyKeywords.standard.classify(body) == meaning, "\(body)")
    }

    @Test func keywordListsAreConfigurable() {
        let lists = ReplyKeywords(optOut: ["Désinscrire"], optIn: ["reprendre"], help: [])
        #expect(lists.classify("desinscrire") == .optOut("DESINSCRIRE"))
        #expect(lists.classify("REPRENDRE") == .optIn("REPRENDRE"))
        #expect(lists.classify("STOP") == .text, "only the configured words count")
    }

    /// Twilio's documented example (twilio-ruby's and twilio-python's request validator tests).
    @Test func twilioSignatureMatchesTheDocumentedExample() {
        let token = "2bd9e9638872de601313dc77410d3b23"
        let url = "http://twiliotests.heroku.com/validate/voice"
        let params: [(String, String)] = [
            ("ToState", "California"), ("CalledState", "California"), ("Direction", "inbound"), ("FromState", "CA"),
            ("AccountSid", "ACba8bc05eacf94afdae398e642c9cc32d"), ("Caller", "+14153595711"), ("CallerZip", "94108"),
            ("CallerCountry", "US"), ("From", "+14153595711"), ("FromCity", "SAN FRANCISCO"), ("CallerCity", "SAN FRANCISCO"),
            ("To", "+14157669926"), ("FromZip", "94108"), ("FromCountry", "US"), ("ToCity", ""), ("CallStatus", "ringing"),
            ("CalledCity", ""), ("CallerState", "CA"), ("CalledZip", ""), ("ToZip", ""), ("ToCountry", "US"),
            ("CallSid", "CA136d09cd59a3c0ec8dbff44da5c03f31"), ("CalledCountry", "US"), ("Called", "+14157669926"),
            ("ApiVersion", "2010-04-01"), ("ApplicationSid", "AP44efecad51364e80b133bb7c07eb8204"),
        ]
        #expect(TwilioSignature.compute(url: url, parameters: params, authToken: token) == "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=")
        #expect(TwilioSignature.isValid("oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", url: url, parameters: params, authToken: token))
        #expect(!TwilioSignature.isValid("oVb2kXoVy8GEfwBDjR8bk/ZZ6eB=", url: url, parameters: params, authToken: token))
        #expect(!TwilioSignature.isValid("oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", url: url + "x", parameters: params, authToken: token))
        #expect(!TwilioSignature.isValid("oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", url: url, parameters: params + [("Body", "x")], authToken: token))
        #expect(!TwilioSignature.isValid(nil, url: url, parameters: params, authToken: token))
        #expect(!TwilioSignature.isValid("", url: url, parameters: params, authToken: token))
        #expect(!TwilioSignature.isValid("oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=", url: url, parameters: params, authToken: ""))
    }

    /// Signatures agree with Twilio's own Python package on generated requests.
    @Test func twilioSignatureAgreesWithTwiliosPythonPackage() async throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcXYZ019 +-_.:/?=&%é€ñ🙂")
        func text(_ n: Int) -> String { String((0..<Int.random(in: 0...n, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }) }
        var cases: [(url: String, params: [(String, String)], token: String)] = []
        for i in 0..<60 {
            var params: [(String, String)] = []
            var names = Set<String>()
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                let name = "P" + text(6)
                if names.insert(name).inserted { params.append((name, text(20))) }
            }
            cases.append(("https://herald.example/webhooks/twilio/inbound?n=\(i)", params, "tok" + text(30)))
        }
        let json = try JSONSerialization.data(withJSONObject: cases.map { c in
            ["url": c.url, "token": c.token, "params": Dictionary(uniqueKeysWithValues: c.params)] as [String: Any]
        })
        let theirs = try JSONSerialization.jsonObject(with: try await runPeerScriptInBackground("twilio_signatures.py", input: json)) as? [String] ?? []
        #expect(theirs.count == cases.count)
        for (c, signature) in zip(cases, theirs) {
            #expect(TwilioSignature.compute(url: c.url, parameters: c.params, authToken: c.token) == signature, "\(c)")
        }
    }

    @Test(arguments: [
        (Channel.sms, "+34 600 11 22 33", "+34600112233"), (.sms, "0034-600-112-233", "+34600112233"),
        (.sms, "(+34) 600.11.22.33", "+34600112233"), (.sms, "+34600112233", "+34600112233"),
        (.sms, " 600112233 ", "600112233"), (.sms, "+0034600", "+0034600"), (.sms, "+3460011223344556677", "+3460011223344556677"),
        (.email, "Ana@Example.es", "ana@example.es"), (.email, "Ana López <Ana@Example.ES>", "ana@example.es"),
        (.email, " ana@example.es\n", "ana@example.es"), (.email, "<ANA@x.es> ", "ana@x.es"), (.email, "a <b> c", "a <b> c"),
        (.email, "ÁNA@x.es", "Ána@x.es"), (.webhook, " https://crm.example/H ", "https://crm.example/H"),
    ])
    func recipientKeys(_ channel: Channel, _ written: String, _ key: String) {
        #expect(RecipientKey.normalize(written, channel: channel) == key)
    }
}
