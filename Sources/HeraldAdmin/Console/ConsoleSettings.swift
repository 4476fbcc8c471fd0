import Crypto
import Foundation
import HeraldCore
import HeraldInbound

/// The console's settings (`[admin]`): sessions, password hashing, cookies, language and zone.
public struct ConsoleSettings: Sendable {
    /// A session ends this long after sign-in (`session_lifetime`)…
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    /// …or after this long without a request (`session_idle`).
    public var sessionIdle: Duration = .seconds(3600)
    /// bcrypt's cost (log2 rounds, 4…31; `bcrypt_cost`): 12 in production, 4 in tests.
    public var bcryptCost: UInt8 = 12
    /// Cookies are `Secure` (`[admin] public_url` is https).
    public var secureCookies = false
    /// Proxies whose `X-Forwarded-Proto: https` makes cookies `Secure` (`trusted_proxies`).
    public var trustedProxies = AddressList(networks: [])
    /// Sign-ins waiting for the password hasher at once, beyond which one gets 503.
    public var maxWaitingSignIns = 8
    /// The zone the console shows times in (`time_zone`).
    public var timeZone = TimeZone(identifier: "UTC") ?? .current

    public init() {}
}

/// Console session tokens and the CSRF tokens derived from them. A session token is 256
/// random bits (`hs_` and 64 hex digits) in an `HttpOnly`, `SameSite=Strict` cookie; the
/// database keeps its SHA-256. A form's CSRF token is an HMAC of the cookie's token, so a
/// page of another site can neither read nor forge it.
enum ConsoleTokens {
    static let sessionCookie = "herald_session"
    /// Before sign-in: the cookie the sign-in form's CSRF token is bound to.
    static let signInCookie = "herald_signin"
    static let languageCookie = "herald_lang"
    static let csrfField = "_csrf"

    static func generate() -> String { "hs_" + SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.hexString }

    static func wellFormed(_ token: String) -> Bool {
        let utf8 = Array(token.utf8)
        return utf8.count == 67 && token.hasPrefix("hs_") && utf8.dropFirst(3).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// The CSRF token of forms shown with cookie token `token`.
    static func csrf(for token: String) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: Data("herald console form".utf8), using: SymmetricKey(data: Data(token.utf8)))).hexString
    }

    /// Whether a form's `_csrf` matches the cookie (compared in constant time).
    static func csrfMatches(_ field: String?, token: String) -> Bool {
        guard let field else { return false }
        return ConstantTime.equal(Array(field.utf8), Array(csrf(for: token).utf8))
    }

    /// The value of cookie `name` in a `Cookie` header.
    static func cookie(_ name: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name {
                return String(pair[1].trimmingCharacters(in: .whitespaces).prefix(200))
            }
        }
        return nil
    }

    /// A `Set-Cookie` value for the console's paths.
    static func setCookie(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=/console; HttpOnly; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        if secure { text += "; Secure" }
        return text
    }
}
