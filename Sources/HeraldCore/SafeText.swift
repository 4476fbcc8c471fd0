import Foundation

/// Text that came from outside (provider replies, headers, SMTP lines, error strings),
/// made safe to store and log: no NUL or other control characters but tab and newline,
/// valid UTF-8 (Swift strings always are; bytes are decoded with replacement), and
/// capped in length on a character boundary.
///
/// libpq passes text parameters as C strings: a NUL cuts a value short and, inside an
/// array literal, makes the whole statement fail on every retry. Nothing from outside
/// reaches a statement without going through here.
public enum SafeText {
    /// Most bytes kept of an error or reply text (`last_error`, `herald.attempt.error`).
    public static let errorLimit = 2_000
    /// Most bytes kept of a provider's message id or response code.
    public static let identifierLimit = 256

    /// `text` without control characters (each becomes a space; tab and newline stay),
    /// at most `limit` UTF-8 bytes; a cut text ends with `…` (within the limit).
    public static func clean(_ text: String, limit: Int = errorLimit) -> String {
        let limit = max(limit, 4)
        var needsWork = text.utf8.count > limit
        if !needsWork {
            for byte in text.utf8 where byte < 0x20 && byte != 0x09 && byte != 0x0A || byte == 0x7F {
                needsWork = true
                break
            }
        }
        guard needsWork else { return text }
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit))
        var bytes = 0
        let budget = text.utf8.count > limit ? limit - 3 : Int.max  // room for the ellipsis when cut
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let kept: Unicode.Scalar = (v < 0x20 && v != 0x09 && v != 0x0A) || v == 0x7F ? " " : scalar
            let size = UTF8.width(kept)
            if bytes + size > budget { out += "…"; return out }
            out.unicodeScalars.append(kept)
            bytes += size
        }
        return out
    }

    /// Bytes from outside decoded as UTF-8 (invalid sequences become U+FFFD), then ``clean(_:limit:)``.
    public static func decode<Bytes: Collection>(_ bytes: Bytes, limit: Int = errorLimit) -> String where Bytes.Element == UInt8 {
        clean(String(decoding: bytes.prefix(limit * 2), as: UTF8.self), limit: limit)
    }

    /// `scheme://user:password@` anywhere in `text` becomes `scheme://user:***@`: libcurl
    /// and libpq error messages may repeat a URL with its credentials.
    public static func redactingUserinfo(_ text: String) -> String {
        guard text.contains("://") else { return text }
        return text.replacingOccurrences(of: #"(://[^:/@\s"]*):[^@\s"]*@"#, with: "$1:***@", options: .regularExpression)
    }

    /// `text` with every NUL removed (what a C string parameter can carry).
    public static func withoutNUL(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return String(text.unicodeScalars.lazy.filter { $0 != "\0" }.map(Character.init))
    }
}
