import Foundation

/// The console's words in Spanish, French or English. Each text is written in English in
/// the pages (`t("Messages")`) and looked up in the language's table; ConsoleTextTests
/// checks that every text the pages use has its Spanish and French. Pure.
struct ConsoleText: Sendable {
    /// `es`, `fr` or `en`.
    let language: String

    static let languages = ["es", "fr", "en"]
    static let names = ["es": "Español", "fr": "Français", "en": "English"]

    init(_ language: String) {
        self.language = Self.languages.contains(language) ? language : "en"
    }

    private var table: [String: String] {
        switch language {
        case "es": return Self.spanish
        case "fr": return Self.french
        default: return Self.english
        }
    }

    /// Texts the pages look up from data rather than write out: statuses, roles, a
    /// contact's preference, consent sources and changes, attempt outcomes, re-plan
    /// actions, subject types and events, health parts, feed entries.
    static let words: [String] = [
        "pending", "sending", "sent", "delivered", "undelivered", "failed", "cancelled", "expired", "suppressed",
        "viewer", "operator", "editor", "admin",
        "preference email", "preference sms", "preference whatsapp", "preference both", "preference none",
        "source keyword", "source host", "source operator", "source provider", "source unsubscribe", "source import", "source desk", "source complaint",
        "opt_out", "opt_in", "retry", "lease_expired", "discarded",
        "moved", "updated", "created", "skipped",
        "appointment", "work_order", "lead", "completed", "confirmed", "declined", "status_changed", "time_changed",
        "database", "daemon", "listener", "event", "message",
        "reach no_address", "reach contact_settings", "reach opted_out", "reach complaint", "reach hard_bounce", "reach landline",
        "reach invalid_number", "reach repeated_undelivered",
    ]

    /// The words from data that English shows otherwise than they are stored.
    static let english: [String: String] = [
        "preference email": "email only", "preference sms": "SMS only", "preference both": "any channel they accepted", "preference none": "no messages",
        "preference whatsapp": "WhatsApp (SMS if it fails)",
        "source keyword": "a keyword reply (STOP, START…)", "source host": "the booking application", "source operator": "a Herald operator",
        "source provider": "the provider", "source unsubscribe": "the unsubscribe link", "source import": "an import",
        "source desk": "the front desk", "source complaint": "a spam complaint",
        "opt_out": "opted out", "opt_in": "opted in", "lease_expired": "interrupted (lease expired)", "work_order": "work order",
        "status_changed": "status changed", "time_changed": "time changed",
        "reach no_address": "no address", "reach contact_settings": "their preference or consent excludes it",
        "reach opted_out": "they opted out", "reach complaint": "they marked a message as spam",
        "reach hard_bounce": "the address does not exist (it bounced)", "reach landline": "it is a landline",
        "reach invalid_number": "the number is not valid", "reach repeated_undelivered": "the last messages were not delivered",
    ]

    /// `english` in this language.
    func callAsFunction(_ english: String) -> String { table[english] ?? english }

    /// `english` with `{n}`-style blanks filled in order (`t("{0} messages", "12")`).
    func callAsFunction(_ english: String, _ values: String...) -> String {
        var text = self(english)
        for (i, value) in values.enumerated() { text = text.replacingOccurrences(of: "{\(i)}", with: value) }
        return text
    }

    /// A number as this language writes it (12 345 / 12.345 / 12,345).
    func number(_ n: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.locale = Locale(identifier: language)
        return formatter.string(from: NSNumber(value: n)) ?? String(n)
    }

    /// A time as `2026-12-03 20:15` in `zone`.
    func time(_ date: Date?, _ zone: TimeZone) -> String {
        guard let date else { return "—" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }
}
