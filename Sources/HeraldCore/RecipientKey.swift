/// The one form in which a recipient is stored in `herald.opt_out` and matched against it,
/// computed the same way here, in SQL (`herald.normalize_recipient`) and by the drivers
/// (which send to the address this form was taken from), so that an opt-out by
/// `ana@example.es` also covers `Ana López <Ana@Example.es>` and `ana@example.es` followed
/// by a no-break space pasted from a spreadsheet:
///
/// - around every recipient, Unicode White_Space is trimmed (``whiteSpace``: tab to
///   carriage return, space, U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029,
///   U+202F, U+205F, U+3000), and the invisible U+200B, U+FEFF and U+2060
///   (``invisible``) are ignored wherever they are;
/// - sms: all of those and `( ) . / -` removed, a leading `00` made `+`; if the result is
///   E.164 (`+`, a first digit 1–9, 7 to 15 digits) that is the key, otherwise the text
///   trimmed;
/// - email: the address inside a final `<…>` if there is one, trimmed, ASCII letters
///   lower-cased;
/// - whatsapp: a leading `whatsapp:` (any case, after blanks) dropped, then as sms; a
///   number that is not E.164 keeps the whole text trimmed;
/// - webhook: the text trimmed.
///
/// Pure and total: any text gives a key, and the same key as the SQL function (tests
/// compare them on every such character and on generated input).
public enum RecipientKey {
    /// Unicode's White_Space property, as explicit code points (the SQL function lists the same).
    public static let whiteSpace: Set<Unicode.Scalar> = Set(
        ([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + Array(0x2000...0x200A)
            + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]).compactMap { Unicode.Scalar(UInt32($0)) })
    /// Characters that print as nothing: ignored wherever they appear in a recipient.
    public static let invisible: Set<Unicode.Scalar> = ["\u{200B}", "\u{FEFF}", "\u{2060}"]
    static let phoneSeparators: Set<Unicode.Scalar> = whiteSpace.union(invisible).union(["(", ")", ".", "/", "-"])
    static let trailingBlanks: Set<Unicode.Scalar> = whiteSpace.union(invisible)

    public static func normalize(_ recipient: String, channel: Channel) -> String {
        switch channel {
        case .sms: return phone(recipient) ?? trimmed(recipient)
        case .whatsapp: return phone(withoutWhatsAppPrefix(recipient)) ?? trimmed(recipient)
        case .email: return asciiLowercased(trimmed(angleAddress(recipient) ?? recipient))
        case .webhook: return trimmed(recipient)
        }
    }

    /// The address a driver sends to: the same text the key is taken from, so that the key
    /// that suppresses is the key of what is sent. sms: the E.164 form when there is one;
    /// every channel: invisible characters removed and White_Space trimmed (an email keeps
    /// its display name and its case).
    public static func deliveryAddress(_ recipient: String, channel: Channel) -> String {
        switch channel {
        case .sms: return phone(recipient) ?? trimmed(recipient)
        case .whatsapp: return phone(withoutWhatsAppPrefix(recipient)) ?? trimmed(recipient)
        case .email, .webhook: return trimmed(recipient)
        }
    }

    /// The text after a leading `whatsapp:` (ASCII letters in any case, after White_Space
    /// and invisible characters), or the text itself.
    public static func withoutWhatsAppPrefix(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var start = 0
        while start < scalars.count, trailingBlanks.contains(scalars[start]) { start += 1 }
        let prefix = Array("whatsapp:".unicodeScalars)
        guard scalars.count - start >= prefix.count else { return text }
        for (offset, expected) in prefix.enumerated() {
            let scalar = scalars[start + offset]
            let lowered = ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
            if lowered != expected { return text }
        }
        return String(String.UnicodeScalarView(scalars[(start + prefix.count)...]))
    }

    /// The E.164 form of a phone number written with the usual separators, or nil.
    public static func phone(_ text: String) -> String? {
        isE164(text) ? text : parsedPhone(text)  // most stored numbers are already in that form
    }

    /// ``phone(_:)`` worked out scalar by scalar (separators dropped, `00` or `+` read).
    static func parsedPhone(_ text: String) -> String? {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !phoneSeparators.contains(scalar) { scalars.append(scalar) }
        var digits = Substring(String(scalars))
        if digits.hasPrefix("00") { digits = digits.dropFirst(2) }
        else if digits.hasPrefix("+") { digits = digits.dropFirst() }
        else { return nil }
        guard (7...15).contains(digits.unicodeScalars.count),
              digits.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }),
              digits.first != "0" else { return nil }
        return "+" + digits
    }

    /// True when `text` is already E.164 exactly as ``phone(_:)`` writes it: `+`, then 7 to
    /// 15 ASCII digits, the first not 0.
    static func isE164(_ text: String) -> Bool {
        let bytes = text.utf8
        guard (8...16).contains(bytes.count), bytes.first == UInt8(ascii: "+") else { return false }
        let digits = bytes.dropFirst()
        return digits.first != UInt8(ascii: "0") && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The text inside the last `<…>` when it ends the string (after trailing blanks and
    /// invisible characters).
    public static func angleAddress(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var end = scalars.count
        while end > 0, trailingBlanks.contains(scalars[end - 1]) { end -= 1 }
        guard end > 0, scalars[end - 1] == ">" else { return nil }
        var start = end - 1
        while start > 0 {
            let c = scalars[start - 1]
            if c == "<" { return String(String.UnicodeScalarView(scalars[start..<(end - 1)])) }
            if c == ">" { return nil }
            start -= 1
        }
        return nil
    }

    /// The text without invisible characters, White_Space trimmed from both ends.
    public static func trimmed(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars.filter { !invisible.contains($0) })
        var start = 0
        var end = scalars.count
        while start < end, whiteSpace.contains(scalars[start]) { start += 1 }
        while end > start, whiteSpace.contains(scalars[end - 1]) { end -= 1 }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }

    static func asciiLowercased(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
        }))
    }
}
