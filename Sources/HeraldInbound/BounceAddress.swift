import Crypto
import Foundation
import HeraldCore

/// Per-message envelope senders (VERP): each email goes out with `MAIL FROM` set to
/// `<local>+b1-<message id>-<mac>@<domain>` (from `[channels.email] bounce_address`), so a
/// bounce or an abuse report names the message it is about. The MAC (HMAC-SHA256 under
/// Herald's link key, first 10 bytes, lower-case hex) covers the message id and the
/// recipient's normal form: a report with a made-up or altered token is refused, and a
/// recipient who reads their own token can only report on their own address.
///
/// Lower-case hex because mail systems may change the case of a local part; the whole
/// token is at most 43 characters (see ``BounceAddressRule``).
public struct BounceAddresses: Sendable, Equatable {
    /// The local part before `+` (`bounces`).
    public let local: String
    /// The domain after `@`.
    public let domain: String
    let key: [UInt8]

    /// `address` (`bounces@sol.example`, see ``BounceAddressRule``) and a key; nil when
    /// the address does not have that shape or the key is empty.
    public init?(address: String, key: [UInt8]) {
        guard !key.isEmpty, let (local, domain) = BounceAddressRule.split(address) else { return nil }
        self.local = local
        self.domain = domain
        self.key = key
    }

    /// The envelope sender of message `messageID` to `recipient` (any form: it is normalised).
    public func address(messageID: Int64, recipient: String) -> String {
        "\(local)+\(Token(messageID: messageID, mac: mac(messageID: messageID, recipient: recipient)).text)@\(domain)"
    }

    /// True when `token` was made under `key` for message `token.messageID` to `recipient`
    /// (whatever the bounce address's local part and domain). Compared in constant time.
    public static func verify(_ token: Token, recipient: String, key: [UInt8]) -> Bool {
        !key.isEmpty && ConstantTime.equal(Array(mac(messageID: token.messageID, recipient: recipient, key: key).utf8), Array(token.mac.utf8))
    }

    private func mac(messageID: Int64, recipient: String) -> String { Self.mac(messageID: messageID, recipient: recipient, key: key) }

    private static func mac(messageID: Int64, recipient: String, key: [UInt8]) -> String {
        let normal = RecipientKey.normalize(recipient, channel: .email)
        let signed = Data("herald-bounce\n\(messageID)\n\(normal)".utf8)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key))
        return code.prefix(10).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The token of a bounce address: the message id and the MAC, not yet checked.
    public struct Token: Sendable, Equatable {
        public var messageID: Int64
        /// 20 lower-case hex digits.
        public var mac: String

        public init(messageID: Int64, mac: String) {
            self.messageID = messageID
            self.mac = mac
        }

        /// `b1-<id>-<mac>`.
        public var text: String { "b1-\(messageID)-\(mac)" }

        /// The token in `address` (`bounces+b1-42-0123…@sol.example`, with or without angle
        /// brackets, any case), or nil when it has none. Only the shape is checked here.
        public init?(in address: String) {
            var text = RecipientKey.trimmed(address)
            if let inner = RecipientKey.angleAddress(text) { text = inner }
            guard text.utf8.count <= 320, let at = text.lastIndex(of: "@") else { return nil }
            let localPart = text[..<at].lowercased()
            guard let plus = localPart.lastIndex(of: "+") else { return nil }
            let fields = localPart[localPart.index(after: plus)...].split(separator: "-", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "b1",
                  (1...19).contains(fields[1].count), fields[1].allSatisfy({ ("0"..."9").contains($0) }),
                  let id = Int64(fields[1]), id > 0,
                  fields[2].count == 20, fields[2].allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else { return nil }
            self.messageID = id
            self.mac = String(fields[2])
        }
    }
}
