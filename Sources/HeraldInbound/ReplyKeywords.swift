import Foundation

/// What a client's SMS reply asks for: STOP, START, HELP, or free text.
///
/// A reply is read as words (``words(_:)``): case-, accent- and width-insensitive, with
/// punctuation, symbols and emoji taken as spaces, so `Stop.`, `STOP!!`, `STOP🙏` and
/// `ａｒｒêｔ` are the keyword itself. START and HELP must be the whole reply. An opt-out is
/// also read from a short reply that starts with an opt-out word (at most
/// ``optOutReplyWords`` words: `stop please`, `BAJA por favor`, `Arrêt s'il vous plaît`), because a client who
/// writes one means it and consent law counts any reasonable way of saying so; a longer
/// text that merely starts with one (`Stop by the shop at five`) is a reply for the business,
/// and so is a short one starting with `CANCEL` or `END` (``ambiguousFirstWords``:
/// `Cancel my appointment`).
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

    /// Twilio's standard keywords, with the words a Spanish or French client would send
    /// (`BAJA`, `ARRÊT`; `ALTA`, `INICIAR`, `REANUDAR`, `SUSCRIBIR`, `COMMENCER`, `DÉMARRER`,
    /// `REPRENDRE`, `RÉABONNER`; `AYUDA`, `AIDE`), and the answers 1/2 and yes/no in Spanish,
    /// French and English.
    public static let standard = ReplyKeywords(
        optOut: ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA", "ARRET"],
        // Square's French help (seed 001) tells a client to reply "Commencer" to opt back in.
        optIn: ["START", "UNSTOP", "YES", "SUBSCRIBE", "ALTA", "INICIAR", "REANUDAR", "SUSCRIBIR", "COMMENCER", "DEMARRER",
                "REPRENDRE", "REABONNER"],
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
        if case .optOut = classify(body) { return nil }
        let word = Self.fold(body)
        if confirm.contains(word) { return .confirm }
        if decline.contains(word) { return .decline }
        return nil
    }

    /// Longest reply (in words) read as an opt-out when its first word is one.
    public static let optOutReplyWords = 5

    /// Opt-out words that also start ordinary replies to a booking ("Cancel my appointment",
    /// "End at 6?"): an opt-out only as the whole reply.
    public static let ambiguousFirstWords: Set<String> = ["CANCEL", "END"]

    /// The meaning of a reply's body.
    public func classify(_ body: String) -> Meaning {
        let words = Self.words(body)
        guard !words.isEmpty else { return .text }
        let whole = words.joined(separator: " ")
        if let word = [whole, words.joined()].first(where: optOut.contains) { return .optOut(word) }
        if let word = [whole, words.joined()].first(where: optIn.contains) { return .optIn(word) }
        if let word = [whole, words.joined()].first(where: help.contains) { return .help(word) }
        if words.count <= Self.optOutReplyWords {
            if optOut.contains(words[0]), !Self.ambiguousFirstWords.contains(words[0]) { return .optOut(words[0]) }
            // A two-word opt-out written apart at the start: "opt out please".
            if words.count >= 2, optOut.contains(words[0] + words[1]) { return .optOut(words[0] + words[1]) }
        }
        return .text
    }

    /// The words of a text, folded: accents removed, case and width folded, upper-cased,
    /// every character that is not a letter or a digit (punctuation, symbols, emoji,
    /// spaces of any kind) a separator. `¡Arrêt, s'il vous plaît! 🙏` → `ARRET S IL VOUS PLAIT`.
    public static func words(_ text: String) -> [String] {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive],
                                  locale: Locale(identifier: "en_US_POSIX")).uppercased()
        var words: [String] = []
        var current = ""
        for character in folded {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// A keyword or a reply as compared: its ``words(_:)`` joined by one space. `arrêt.` → `ARRET`.
    public static func fold(_ text: String) -> String {
        words(text).joined(separator: " ")
    }
}
