import HeraldCore

/// Herald's answers to keyword replies (SMS only): `reply.stopped` confirms an opt-out,
/// `reply.started` an opt-in, `reply.help` says who writes and how to stop. Each is
/// queued in the locale of the last message sent to that client, for its location (so
/// `{{location.name}}` and `{{location.phone}}` are the business's, when known).
///
/// They are Herald's own texts, so they work before `herald templates install-defaults`:
/// ``withReplies(_:)`` adds them to a catalog that lacks them. Once installed they are
/// edited like any other template, and the edited row wins.
extension BuiltinTemplates {
    /// The reply templates, in Spanish, French and English.
    public static let replies: [TemplateRecord] = [
        reply("reply.stopped", "es", "{{#location.name}}{{location.name}}: {{/location.name}}te has dado de baja y no recibirás más SMS nuestros. Para volver a recibirlos, responde ALTA."),
        reply("reply.started", "es", "{{#location.name}}{{location.name}}: {{/location.name}}vuelves a recibir nuestros SMS. Para dejar de recibirlos, responde BAJA."),
        reply("reply.help", "es", "{{#location.name}}{{location.name}}: {{/location.name}}SMS sobre tus citas y pedidos.{{#location.phone}} Ayuda: {{location.phone}}.{{/location.phone}} Para no recibir más, responde BAJA."),
        reply("reply.stopped", "fr", "{{#location.name}}{{location.name}} : {{/location.name}}vous êtes désinscrit et ne recevrez plus nos SMS. Pour les recevoir à nouveau, répondez START."),
        reply("reply.started", "fr", "{{#location.name}}{{location.name}} : {{/location.name}}vous recevez à nouveau nos SMS. Pour ne plus les recevoir, répondez ARRET."),
        reply("reply.help", "fr", "{{#location.name}}{{location.name}} : {{/location.name}}SMS sur vos rendez-vous et commandes.{{#location.phone}} Aide : {{location.phone}}.{{/location.phone}} Pour ne plus en recevoir, répondez ARRET."),
        reply("reply.stopped", "en", "{{#location.name}}{{location.name}}: {{/location.name}}you are unsubscribed and will get no more texts from us. Reply START to get them again."),
        reply("reply.started", "en", "{{#location.name}}{{location.name}}: {{/location.name}}you will get our texts again. Reply STOP to unsubscribe."),
        reply("reply.help", "en", "{{#location.name}}{{location.name}}: {{/location.name}}texts about your appointments and orders.{{#location.phone}} Help: {{location.phone}}.{{/location.phone}} Reply STOP to unsubscribe."),
    ]

    /// The reply template keys.
    public static let replyKeys = ["reply.stopped", "reply.started", "reply.help"]

    /// `records` plus every reply template `records` has no row for (same key, channel and locale).
    public static func withReplies(_ records: [TemplateRecord]) -> [TemplateRecord] {
        let present = Set(records.map { "\($0.key)\u{0}\($0.channel)\u{0}\($0.locale)" })
        return records + replies.filter { !present.contains("\($0.key)\u{0}\($0.channel)\u{0}\($0.locale)") }
    }

    static let replyDescriptions = [
        "reply.stopped": "Herald's answer to STOP (BAJA, ARRET, …): the one message sent after an opt-out",
        "reply.started": "Herald's answer to START (ALTA, …)",
        "reply.help": "Herald's answer to HELP (AYUDA, AIDE, INFO)",
    ]

    private static func reply(_ key: String, _ locale: String, _ body: String) -> TemplateRecord {
        let sample = locale == "es" ? #"{"keyword":"BAJA","location":{"name":"Peluquería Sol","phone":"+34 910 000 000"}}"#
            : locale == "fr" ? #"{"keyword":"ARRET","location":{"name":"Salon Lumière","phone":"+33 1 00 00 00 00"}}"#
            : #"{"keyword":"STOP","location":{"name":"Bright Smile Dental","phone":"+1 416 555 0100"}}"#
        return TemplateRecord(key: key, channel: "sms", locale: locale, subject: nil, body: body, html: nil, sampleData: sample)
    }
}
