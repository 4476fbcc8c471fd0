import CLibPQ
import Foundation
import HeraldCore

/// Checks and redacts PostgreSQL connection strings (URIs and conninfo strings).
///
/// libpq's error text may repeat part of the connection string: a malformed URI's bad
/// token, for example, is the password itself. Every connection error Herald reports
/// passes through ``redact(_:secretsOf:)``, and a string libpq cannot parse is found at
/// startup by ``validate(_:)`` with a redacted reason.
public enum ConnectionString {
    /// What replaces a secret in messages.
    public static let mask = "***"

    /// Parses `text` as libpq would (`PQconninfoParse`); throws a connection error whose
    /// message holds no password when it cannot be parsed. Empty text is valid (libpq's
    /// defaults: `PG*` variables, `.pgpass`, service files).
    public static func validate(_ text: String) throws {
        guard !text.isEmpty else { return }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(text, &errorMessage)
        defer {
            if let options { PQconninfoFree(options) }
            if let errorMessage { PQfreemem(errorMessage) }
        }
        if options == nil {
            let raw = errorMessage.map { String(cString: $0) } ?? "cannot parse the connection string"
            let line = raw.split(whereSeparator: \.isNewline).joined(separator: " ")
            throw PostgresError(kind: .connection, message: redact(line, secretsOf: text))
        }
    }

    /// `message` with every password of `connectionString` (as written and percent-decoded)
    /// and the password part of any URL's userinfo replaced by ``mask``.
    public static func redact(_ message: String, secretsOf connectionString: String) -> String {
        var out = message
        for secret in secrets(of: connectionString).sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            out = out.replacingOccurrences(of: secret, with: mask)
        }
        return SafeText.redactingUserinfo(out)
    }

    /// The passwords a connection string carries: libpq's parse (any form), the URI's
    /// userinfo (also when libpq cannot parse it), and `password=` of a conninfo string.
    static func secrets(of text: String) -> [String] {
        var found: [String] = []
        var errorMessage: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(text, &errorMessage) {
            var option = options
            while let keyword = option.pointee.keyword {
                if String(cString: keyword) == "password", let value = option.pointee.val { found.append(String(cString: value)) }
                option = option.advanced(by: 1)
            }
            PQconninfoFree(options)
        }
        if let errorMessage { PQfreemem(errorMessage) }
        if let scheme = text.range(of: "://") {
            let rest = text[scheme.upperBound...]
            if let at = rest.lastIndex(of: "@") {
                let userinfo = rest[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    let password = String(userinfo[userinfo.index(after: colon)...])
                    found.append(password)
                    if let decoded = password.removingPercentEncoding { found.append(decoded) }
                }
            }
        }
        if let key = text.range(of: #"password\s*=\s*"#, options: .regularExpression) {
            let value = text[key.upperBound...]
            if value.first == "'" {
                found.append(String(value.dropFirst().prefix { $0 != "'" }))
            } else {
                found.append(String(value.prefix { !$0.isWhitespace }))
            }
        }
        return found
    }
}
