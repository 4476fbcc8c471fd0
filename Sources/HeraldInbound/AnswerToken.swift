import Foundation
import HeraldCore

/// What a client's answer link asks for.
public enum AnswerAction: String, Sendable, CaseIterable {
    /// "I will come": `confirm_url`.
    case confirm
    /// "I will not come": `cancel_url`.
    case decline
    /// The page with both buttons: `manage_url`.
    case manage
}

/// The token in a client's answer link (`/answer/{token}`): the message it came in, the
/// subject it is about, what the link is for, and until when it works, signed with
/// HMAC-SHA256 under the key that signs unsubscribe links (``SignedToken``, version `a1`).
/// Any of a client's links lets them confirm or decline (the page shows both buttons); the
/// action only says which button the link stands for.
public struct AnswerToken: Sendable, Equatable {
    public var messageID: Int64
    public var subjectType: String
    public var subjectID: String
    public var action: AnswerAction
    /// Seconds since 1970 after which the link is refused (by default the appointment's start).
    public var expires: Int64

    public init(messageID: Int64, subjectType: String, subjectID: String, action: AnswerAction, expires: Int64) {
        self.messageID = messageID
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.action = action
        self.expires = expires
    }

    static let version = "a1"

    /// The signed token.
    public func sign(key: [UInt8]) -> String {
        SignedToken.sign(version: Self.version, fields: [String(messageID), subjectType, subjectID, action.rawValue, String(expires)], key: key)
    }

    /// Why a token is refused.
    public enum Refusal: Error, Sendable, Equatable {
        /// Not a token, altered, or signed with another key.
        case invalid
        /// Signed by Herald, but the time it carries has passed. The appointment may have
        /// moved later since the link was sent: the listener then accepts it until the
        /// subject's latest start (the content says which message and subject).
        case expired(AnswerToken)
    }

    /// The token's content when its signature is right and it has not expired at `now`.
    public static func verify(_ token: String, key: [UInt8], now: Date) -> Result<AnswerToken, Refusal> {
        guard let f = SignedToken.verify(token, version: version, count: 5, key: key),
              let id = Int64(f[0]), !f[1].isEmpty, !f[2].isEmpty, let action = AnswerAction(rawValue: f[3]),
              let expires = Int64(f[4]) else { return .failure(.invalid) }
        let content = AnswerToken(messageID: id, subjectType: f[1], subjectID: f[2], action: action, expires: expires)
        guard Double(expires) > now.timeIntervalSince1970 else { return .failure(.expired(content)) }
        return .success(content)
    }
}

/// Signs the answer links of one message: `confirm_url`, `cancel_url` and `manage_url`.
public struct AnswerLinks: Sendable {
    /// Where clients reach Herald, without a trailing slash.
    public let publicURL: String
    public let key: [UInt8]
    /// How long a link works when the message has no appointment time (`[http] answer_link_lifetime`).
    public let lifetimeWithoutStart: Duration

    public init(publicURL: String, key: [UInt8], lifetimeWithoutStart: Duration = .seconds(30 * 86_400)) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        self.key = key
        self.lifetimeWithoutStart = lifetimeWithoutStart
    }

    /// The path the listener serves them under.
    public static let path = "/answer"

    /// The template variable of each link and the action it stands for.
    public static let variables: [(name: String, action: AnswerAction)] = [("confirm_url", .confirm), ("cancel_url", .decline), ("manage_url", .manage)]

    /// The link for `action` on a message about `subject`: it works until the appointment
    /// starts (`eventAt`), or for ``lifetimeWithoutStart`` from `now`.
    public func url(_ action: AnswerAction, messageID: Int64, subjectType: String, subjectID: String, eventAt: Date?, now: Date) -> String {
        let until = eventAt.map(\.timeIntervalSince1970).flatMap { $0.isFinite ? $0 : nil }
            ?? now.timeIntervalSince1970 + lifetimeWithoutStart.seconds
        let token = AnswerToken(messageID: messageID, subjectType: subjectType, subjectID: subjectID, action: action,
                                expires: Int64(clampingFloor: until))
        return publicURL + Self.path + "/" + token.sign(key: key)
    }

    /// The three links, by template variable.
    public func urls(messageID: Int64, subjectType: String, subjectID: String, eventAt: Date?, now: Date) -> [String: String] {
        Dictionary(uniqueKeysWithValues: Self.variables.map {
            ($0.name, url($0.action, messageID: messageID, subjectType: subjectType, subjectID: subjectID, eventAt: eventAt, now: now))
        })
    }
}
