import Foundation
import HeraldCore

/// The templates Herald ships for every message type the product promises, in
/// Spanish, French and English, with the partials they share and the sample data
/// `herald templates lint` and `preview` render them with.
///
/// `herald templates install-defaults` writes them into `herald.template` and
/// `herald.template_partial`; from then on they are the business's to edit.
///
/// Each email is written once (`BuiltinText`) and produced as a text body and an
/// HTML body; each webhook body is a JSON document carrying the SMS wording and
/// the message's data.
public enum BuiltinTemplates {
    /// The locales the built-ins are written in.
    public static let locales = ["es", "fr", "en"]

    /// Every template key, in the order of the product's settings pages.
    public static var keys: [String] { texts.map(\.key).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }

    /// Every built-in template: for each key and locale, one SMS, one email and one webhook.
    public static var records: [TemplateRecord] {
        messageRecords + replies
    }

    static var messageRecords: [TemplateRecord] {
        texts.flatMap { t -> [TemplateRecord] in
            let sample = sampleData(key: t.key, locale: t.locale)
            return [
                TemplateRecord(key: t.key, channel: "sms", locale: t.locale, subject: nil, body: t.sms, html: nil, sampleData: sample),
                TemplateRecord(key: t.key, channel: "email", locale: t.locale, subject: t.subject,
                               body: emailText(t), html: emailHTML(t), sampleData: sample),
                TemplateRecord(key: t.key, channel: "webhook", locale: t.locale, subject: nil, body: webhook(t), html: nil, sampleData: sample),
            ]
        }
    }

    /// What each built-in template is for (`herald.template.description`).
    public static func description(key: String) -> String {
        descriptions[key] ?? replyDescriptions[key] ?? key
    }

    // MARK: Producing text and HTML from one source

    static func emailText(_ t: BuiltinText) -> String {
        var out = t.greeting
        for paragraph in t.paragraphs {
            if let (name, inner) = wholeSection(paragraph) {
                out += "{{#\(name)}}\n\n\(inner){{/\(name)}}"
            } else {
                out += "\n\n" + paragraph
            }
        }
        for link in t.links {
            out += "{{#\(link.variable)}}\n\n\(link.label): {{\(link.variable)}}{{/\(link.variable)}}"
        }
        return out + "\n\n{{> signature}}\n"
    }

    static func emailHTML(_ t: BuiltinText) -> String {
        var out = "{{> email_header_html}}\n<p>\(html(t.greeting))</p>\n"
        for paragraph in t.paragraphs {
            if let (name, inner) = wholeSection(paragraph) {
                out += "{{#\(name)}}<p>\(html(inner))</p>{{/\(name)}}\n"
            } else {
                out += "<p>\(html(paragraph))</p>\n"
            }
        }
        for link in t.links {
            out += "{{#\(link.variable)}}<p><a href=\"{{\(link.variable)}}\" style=\"display:inline-block;padding:10px 18px;"
                + "background:#1a5fb4;color:#ffffff;text-decoration:none;border-radius:4px\">\(html(link.label))</a></p>{{/\(link.variable)}}\n"
        }
        return out + "{{> email_footer_html}}\n"
    }

    static func webhook(_ t: BuiltinText) -> String {
        "{\"type\": \"\(t.key)\", \"message_id\": {{herald.message_id}}, \"locale\": \"{{herald.locale}}\", "
            + "\"text\": \"\(JSONStringContentType.escape(t.sms))\", \"data\": {{{herald.data_json}}}}\n"
    }

    /// `{{#name}}inner{{/name}}` spanning a whole paragraph.
    static func wholeSection(_ paragraph: String) -> (String, String)? {
        guard paragraph.hasPrefix("{{#"), let close = paragraph.range(of: "}}") else { return nil }
        let name = String(paragraph[paragraph.index(paragraph.startIndex, offsetBy: 3)..<close.lowerBound])
        let end = "{{/\(name)}}"
        guard paragraph.hasSuffix(end) else { return nil }
        let inner = paragraph[close.upperBound..<paragraph.index(paragraph.endIndex, offsetBy: -end.count)]
        guard !inner.contains("{{/\(name)}}") else { return nil }
        return (name, String(inner))
    }

    /// Escapes the literal text of a paragraph for HTML (tags hold only names) and keeps its line breaks.
    static func html(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "\n", with: "<br>\n")
    }
}

/// The wording of one message type in one language.
struct BuiltinText {
    struct Link {
        let label: String
        let variable: String
    }
    let key: String
    let locale: String
    let sms: String
    let subject: String
    let greeting: String
    let paragraphs: [String]
    let links: [Link]

    init(_ key: String, _ locale: String, sms: String, subject: String, greeting: String? = nil, _ paragraphs: [String], links: [(String, String)] = []) {
        self.key = key
        self.locale = locale
        self.sms = sms
        self.subject = subject
        self.greeting = greeting ?? BuiltinTemplates.greetings[locale] ?? "{{client.name}},"
        self.paragraphs = paragraphs
        self.links = links.map { Link(label: $0.0, variable: $0.1) }
    }
}
