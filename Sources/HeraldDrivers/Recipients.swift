import Foundation
import HeraldCore

/// Checks recipients before any provider is called: a bad phone number or
/// address fails the message at once with a reason a person can act on.
public enum Recipients {
    /// A phone number in E.164: `+`, a country code not starting with 0, 8 to 15 digits in all.
    public static func validatePhone(_ text: String) -> String? {
        let digits = text.dropFirst()
        guard text.hasPrefix("+") else {
            return "recipient \"\(text)\" is not an E.164 phone number: it must start with + and the country code, e.g. +34600111222"
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return "recipient \"\(text)\" is not an E.164 phone number: only digits may follow the +, no spaces or dashes"
        }
        guard digits.first != "0", (7...15).contains(digits.count) else {
            return "recipient \"\(text)\" is not an E.164 phone number: a country code (not 0) and 7 to 15 digits in all"
        }
        return nil
    }

    /// An email recipient: `ana@example.es` or `Ana López <ana@example.es>`.
    public struct Mailbox: Sendable, Equatable {
        public var name: String?
        public var address: String

        /// The `To:`/`From:` header value: the display name RFC 2047-encoded when not ASCII.
        public var header: String {
            guard let name, !name.isEmpty else { return address }
            let ascii = name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
            if ascii {
                let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                return "\"\(escaped)\" <\(address)>"
            }
            return "\(EmailFormat.encodeHeader(name)) <\(address)>"
        }
    }

    /// Parses and checks an email recipient. Blanks and invisible characters are trimmed
    /// as ``RecipientKey`` trims them, so the address sent is the one opt-outs are keyed on.
    public static func mailbox(_ text: String) -> Result<Mailbox, RecipientError> {
        let trimmed = RecipientKey.trimmed(text)
        var name: String?
        var address = trimmed
        if let inner = RecipientKey.angleAddress(trimmed), let open = trimmed.unicodeScalars.lastIndex(of: "<") {
            address = RecipientKey.trimmed(inner)
            let display = RecipientKey.trimmed(String(trimmed.unicodeScalars[..<open]))
            name = display.hasPrefix("\"") && display.hasSuffix("\"") && display.count >= 2 ? String(display.dropFirst().dropLast()) : display
            if name?.isEmpty == true { name = nil }
        }
        if let reason = validateAddress(address) { return .failure(RecipientError(reason: "recipient \"\(text)\" \(reason)")) }
        return .success(Mailbox(name: name, address: address))
    }

    /// Nil when `address` is a deliverable-looking `local@domain.tld`; otherwise why not.
    public static func validateAddress(_ address: String) -> String? {
        guard address.count <= 254 else { return "is longer than 254 characters" }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return "is not an email address: it needs exactly one @" }
        let local = parts[0], domain = parts[1]
        let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-.")
        guard !local.isEmpty, local.count <= 64, local.allSatisfy({ atext.contains($0) }),
              !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            return "is not an email address: the part before @ is empty or has characters not allowed there"
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }), let tld = labels.last, tld.count >= 2, tld.allSatisfy({ $0.isLetter }) else {
            return "is not an email address: the domain after @ must look like example.com"
        }
        return nil
    }
}

/// Why a recipient was refused.
public struct RecipientError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
