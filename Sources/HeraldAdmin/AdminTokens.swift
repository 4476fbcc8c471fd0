import Crypto
import Foundation
import HeraldCore
import HeraldInbound

/// Admin API bearer tokens: `hrld_` and 64 hex digits (256 random bits). Only the SHA-256
/// of a token is stored; the token itself is printed once, by `herald tokens create` or the
/// API's `createToken`.
public enum AdminTokens {
    /// The prefix every token starts with (so that a leaked one is easy to search for).
    public static let prefix = "hrld_"

    /// A new token.
    public static func generate() -> String {
        prefix + SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.hexString
    }

    /// Whether `text` has a token's shape (checked before any database lookup).
    public static func wellFormed(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == prefix.utf8.count + 64, text.hasPrefix(prefix) else { return false }
        return utf8.dropFirst(prefix.utf8.count).allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The SHA-256 of a token: what `herald.api_token.token_sha256` holds.
    public static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// The token of an `Authorization: Bearer …` header; nil for any other form.
    public static func bearer(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// A lifetime such as `90d`, `12h` or `30m`, from 1 minute to 10 years; nil when it is not one.
    public static func lifetime(_ text: String) -> Duration? {
        guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else { return nil }
        let seconds: Int
        switch unit {
        case "d": seconds = number.multipliedReportingOverflow(by: 86_400).partialValue
        case "h": seconds = number.multipliedReportingOverflow(by: 3_600).partialValue
        case "m": seconds = number.multipliedReportingOverflow(by: 60).partialValue
        default: return nil
        }
        guard number <= 3_650 * 24 * 60, seconds >= 60, seconds <= 3_650 * 86_400 else { return nil }
        return .seconds(seconds)
    }
}

/// The confirmation a bulk dry run hands back: bound to the action, the actor, the filter
/// and the count, valid for a few minutes, signed with the installation's key
/// (`herald.secret`), so that nothing needs storing between the dry run and the action.
public struct BulkConfirmation: Sendable {
    let key: [UInt8]

    public init(key: [UInt8]) { self.key = key }

    /// What a confirmation allows: at most `count` messages, none with an id above `ceiling`.
    public struct Allowance: Sendable, Equatable {
        public var count: Int
        public var ceiling: Int64
        /// Its signature: recorded when used, so that it is used once.
        public var signature: String
    }

    /// `count.ceiling.expires.signature`.
    public func make(action: String, actor: String, filter: String, count: Int, ceiling: Int64 = 0, expires: Date) -> String {
        let expiry = Int64(clampingFloor: expires.timeIntervalSince1970)
        return "\(count).\(ceiling).\(expiry).\(signature(action: action, actor: actor, filter: filter, count: count, ceiling: ceiling, expiry: expiry))"
    }

    /// Why a confirmation does not hold.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformed, expired, mismatch, used
        public var description: String {
            switch self {
            case .malformed: return "the confirmation is not one a dry run returned"
            case .expired: return "the confirmation has expired: run the dry run again"
            case .mismatch: return "the confirmation was made for another action, filter, count or token: run the dry run again"
            case .used: return "the confirmation was used already: run the dry run again"
            }
        }
    }

    /// The count a confirmation allows, when it was made for this action, actor and filter and has not expired.
    public func verify(_ token: String, action: String, actor: String, filter: String, now: Date) -> Result<Allowance, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        // Digits only: `+3` and `03` would read as 3 and make one confirmation many.
        guard parts.count == 4, parts[0...2].allSatisfy({ !$0.isEmpty && $0.count <= 19 && $0.allSatisfy { ("0"..."9").contains($0) } }),
              let count = Int(parts[0]), let ceiling = Int64(parts[1]), let expiry = Int64(parts[2]) else { return .failure(.malformed) }
        let expected = signature(action: action, actor: actor, filter: filter, count: count, ceiling: ceiling, expiry: expiry)
        guard ConstantTime.equal(Array(expected.utf8), Array(parts[3].utf8)) else { return .failure(.mismatch) }
        guard Double(expiry) > now.timeIntervalSince1970 else { return .failure(.expired) }
        return .success(Allowance(count: count, ceiling: ceiling, signature: expected))
    }

    private func signature(action: String, actor: String, filter: String, count: Int, ceiling: Int64, expiry: Int64) -> String {
        let text = [action, actor, filter, String(count), String(ceiling), String(expiry)].joined(separator: "\u{1F}")
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))
        return Data(mac).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
