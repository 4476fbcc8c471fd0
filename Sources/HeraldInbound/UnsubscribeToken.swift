import Crypto
import Foundation
import HeraldCore

/// The token in a one-click unsubscribe link (`/unsubscribe/{token}`, RFC 8058): the
/// message id and the recipient's normal form, signed with HMAC-SHA256 under a key only
/// Herald holds, so a link opts out exactly the address it was sent to and cannot be
/// altered to opt out another. URL-safe base64, no padding: `v1.<payload>.<mac>`.
///
/// The recipient is in the token (not only the message id) so that a link keeps working
/// after retention has pruned the message it came in.
public struct UnsubscribeToken: Sendable, Equatable {
    public var messageID: Int64
    public var channel: String
    /// Normalised (``RecipientKey``) by whoever signs.
    public var recipient: String

    public init(messageID: Int64, channel: String, recipient: String) {
        self.messageID = messageID
        self.channel = channel
        self.recipient = recipient
    }

    /// The signed token.
    public func sign(key: [UInt8]) -> String {
        SignedToken.sign(version: "v1", fields: [String(messageID), channel, recipient], key: key)
    }

    /// The token's content when its signature is right; nil for anything else (wrong key,
    /// altered payload, truncated, not a token). The MAC is compared in constant time.
    public static func verify(_ token: String, key: [UInt8]) -> UnsubscribeToken? {
        guard let fields = SignedToken.verify(token, version: "v1", count: 3, key: key),
              let id = Int64(fields[0]), !fields[1].isEmpty, !fields[2].isEmpty else { return nil }
        return UnsubscribeToken(messageID: id, channel: fields[1], recipient: fields[2])
    }
}

/// The format of Herald's signed link tokens: `<version>.<payload>.<mac>`, the payload
/// being newline-separated fields, both parts URL-safe base64 without padding, the MAC an
/// HMAC-SHA256 over the version and payload under a key only Herald holds.
enum SignedToken {
    /// Longest token accepted.
    static let maxLength = 2048

    static func sign(version: String, fields: [String], key: [UInt8]) -> String {
        let payload = Data(fields.joined(separator: "\n").utf8)
        return version + "." + base64URL(payload) + "." + base64URL(mac(version: version, payload: payload, key: key))
    }

    /// The fields of a token of this version whose MAC is right and that has exactly
    /// `count` fields; nil otherwise. The MAC is compared in constant time.
    static func verify(_ token: String, version: String, count: Int, key: [UInt8]) -> [String]? {
        guard token.utf8.count <= maxLength else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == version,
              let payload = decodeBase64URL(parts[1]), let given = decodeBase64URL(parts[2]) else { return nil }
        guard ConstantTime.equal(Array(mac(version: version, payload: payload, key: key)), Array(given)) else { return nil }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard fields.count == count else { return nil }
        return fields.map(String.init)
    }

    /// `v1` tokens (unsubscribe) are signed over the payload alone, as they always were, so
    /// links already sent keep working; later versions also over the version.
    private static func mac(version: String, payload: Data, key: [UInt8]) -> Data {
        let signed = version == "v1" ? payload : Data((version + ".").utf8) + payload
        return Data(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key)))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}

/// Signs unsubscribe links for one public URL with one key.
public struct UnsubscribeLinks: Sendable {
    /// Where the provider and clients reach Herald, without a trailing slash.
    public let publicURL: String
    /// The HMAC key's bytes.
    public let key: [UInt8]

    public init(publicURL: String, key: [UInt8]) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.key = key
    }

    /// The link for one message to one recipient (normalised here).
    public func url(messageID: Int64, channel: Channel, recipient: String) -> String {
        let token = UnsubscribeToken(messageID: messageID, channel: channel.rawValue,
                                     recipient: RecipientKey.normalize(recipient, channel: channel))
        return publicURL + "/unsubscribe/" + token.sign(key: key)
    }
}
