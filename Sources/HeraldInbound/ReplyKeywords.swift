import Foundation

/// What a client's SMS reply asks for, by its whole text (trimmed, case- and
/// accent-insensitive, one trailing `.` or `!` ignored): STOP, START, HELP, or free text.
public struct ReplyKeywords: Sendable, Equatable {
    /// What a reply means.
    public enum Meaning: Sendable, Equatable {
        /// Stop all messages on this channel (the keyword as folded).
        case optOut(String)
        /// Opt back in, whatever the source of the opt-out.
        case optIn(String)
        /// Ask who is writing and how to stop.
        case help(String)
        /// Anything else: a reply for the business to read.
        case text
    }

    public var optOut: Set<String>
    public var optIn: Set<String>
    public var help: Set<String>
    /// Answers to a reminder: confirm (`1`, `SI`, `OUI`, `YES`) and decline (`2`, `NO`, `NON`).
    /// Never an opt-out keyword: carriers treat `CANCEL` as STOP.
    public var confirm: Set<String>
    public var decline: Set<String>

    /// Twilio's standard keywords, with Spanish and French, and the answers 1/2 and yes/no
    /// in Spanish, French and English.
    public static let standard = ReplyKeywords(
        optOut: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA", "ARRET"],
        optIn: ["START", "UNSTOP", "YES", "ALTA"],
        help: ["HELP", "INFO", "AYUDA", "AIDE"],
        confirm: ["1", "SI", "OUI", "YES"],
        decline: ["2", "NO", "NON"])

    /// Lists as configured (`[replies]`); each word is folded the way replies are.
    public init(optOut: [String], optIn: [String], help: [String], confirm: [String] = [], decline: [String] = []) {
        self.optOut = Set(optOut.map(Self.fold))
        self.optIn = Set(optIn.map(Self.fold))
        self.help = Set(help.map(Self.fold))
        self.confirm = Set(confirm.map(Self.fold))
        self.decline = Set(decline.map(Self.fold))
    }

    /// The answer a reply gives to a reminder, if its text is an answer word and not an
    /// opt-out keyword (an opt-out always wins). Whether it answers anything depends on a
    /// reminder awaiting an answer from that number; when none does, the reply means what
    /// ``classify(_:)`` says (`YES` is then an opt-in, as for Twilio).
    public func answer(_ body: String) -> AnswerAction? {
        let word = Self.fold(body)
        if optOut.contains(word) { return nil }
        if confirm.contains(word) { return .confirm }
        if decline.contains(word) { return .decline }
        return nil
    }

    /// The meaning of a reply's body.
    public func classify(_ body: String) -> Meaning {
        let word = Self.fold(body)
        if optOut.contains(word) { return .optOut(word) }
        if optIn.contains(word) { return .optIn(word) }
        if help.contains(word) { return .help(word) }
        return .text
    }

    /// Trimmed, without one trailing `.` or `!`, accents removed, upper-cased: `arrêt.` → `ARRET`.
    public static func fold(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let last = t.last, last == "." || last == "!" { t.removeLast() }
        return t.trimmingCharacters(in: .whitespacesAndNewlines)
            .folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            .uppercased()
    }
}
