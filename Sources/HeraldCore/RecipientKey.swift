/// The one form in which a recipient is stored in `herald.opt_out` and matched against it,
/// computed the same way here and in SQL (`herald.normalize_recipient`), so that an
/// opt-out by `ana@example.es` also covers `Ana López <Ana@Example.es>`:
///
/// - sms: spaces, tabs, line breaks, `( ) . / -` removed and a leading `00` made `+`; if
///   the result is E.164 (`+`, a first digit 1–9, 7 to 15 digits) that is the key,
///   otherwise the text trimmed;
/// - email: the address inside a final `<…>` if there is one, trimmed, ASCII letters
///   lower-cased;
/// - webhook: the text trimmed.
///
/// Pure and total: any text gives a key, and the same key as the SQL function (a test
/// compares them on generated input).
public enum RecipientKey {
    static let blanks: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n"]
    static let phoneSeparators: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n", "(", ")", ".", "/", "-"]

    public static func normalize(_ recipient: String, channel: Channel) -> String {
        switch channel {
        case .sms: return phone(recipient) ?? trimmed(recipient)
        case .email: return asciiLowercased(trimmed(angleAddress(recipient) ?? recipient))
        case .webhook: return trimmed(recipient)
        }
    }

    /// The E.164 form of a phone number written with the usual separators, or nil.
    public static func phone(_ text: String) -> String? {
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

    /// The text inside the last `<…>` when it ends the string (after trailing blanks).
    static func angleAddress(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var end = scalars.count
        while end > 0, blanks.contains(scalars[end - 1]) { end -= 1 }
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

    static func trimmed(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var start = 0
        var end = scalars.count
        while start < end, blanks.contains(scalars[start]) { start += 1 }
        while end > start, blanks.contains(scalars[end - 1]) { end -= 1 }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }

    static func asciiLowercased(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            ("A"..."Z").contains(scalar) ? Unicode.Scalar(scalar.value + 32) ?? scalar : scalar
        }))
    }
}
