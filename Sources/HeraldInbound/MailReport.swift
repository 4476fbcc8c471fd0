import Crypto
import Foundation
import HeraldCore

/// What a mail system reported about one recipient of one of Herald's emails.
public struct MailFeedback: Sendable, Equatable {
    /// What Herald does with it.
    public enum Kind: String, Sendable, CaseIterable {
        /// The address does not exist or is disabled: the message is `undelivered` and later
        /// messages to the address are suppressed until it changes or an operator lifts it.
        case hardBounce = "hard_bounce"
        /// Refused for good for another reason (policy, content, size): the message is
        /// `undelivered`; the address stays usable.
        case failed
        /// Delayed or refused for now: recorded only (the sending server retries, not Herald).
        case softBounce = "soft_bounce"
        /// The client marked the message as spam (an abuse report): opted out of email.
        case complaint
    }

    public var kind: Kind
    /// The recipient as the report names it (may be empty when a report redacts it).
    public var recipient: String
    /// The enhanced status code (RFC 3463), `5.1.1`, when the report gives a valid one.
    public var status: String?
    /// The diagnostic (`smtp; 550 5.1.1 … User unknown`) or the feedback type, cleaned.
    public var detail: String

    public init(kind: Kind, recipient: String, status: String?, detail: String) {
        self.kind = kind
        self.recipient = recipient
        self.status = status
        self.detail = detail
    }

    /// The kind for a delivery status notification's `Action`, `Status` and
    /// `Diagnostic-Code`, or nil when there is nothing to record (delivered, relayed).
    ///
    /// Hard: addressing statuses about the recipient (5.1.1–5.1.3, 5.1.6, 5.1.10), a
    /// disabled mailbox (5.2.1), and other permanent statuses but policy ones (5.7.x) whose
    /// diagnostic says the mailbox does not exist (5.1.0 included). Never one about the
    /// sender (5.1.7, 5.1.8, a diagnostic naming the sender): `failed`. A full mailbox (5.2.2) is soft: servers
    /// use it for a state that passes.
    public static func classify(action: String?, status: String?, diagnostic: String) -> Kind? {
        let action = action?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        let code = status.flatMap(StatusCode.init)
        switch action {
        case "delivered", "relayed", "expanded": return nil
        case "delayed": return .softBounce
        case "failed": break
        default: if code == nil { return nil }
        }
        guard let code else { return .failed }
        switch code.klass {
        case 2: return nil
        case 4: return .softBounce
        default: break
        }
        // About Herald's own sender (5.1.7, 5.1.8, or a diagnostic naming the sender: a server
        // that could not verify the bounce address), never the recipient's mailbox.
        if code.subject == 1, [7, 8].contains(code.detail) { return .failed }
        if diagnostic.lowercased().contains("sender") { return .failed }
        if code.subject == 1, [1, 2, 3, 6, 10].contains(code.detail) { return .hardBounce }
        if code.subject == 2, code.detail == 1 { return .hardBounce }
        if code.subject == 2, code.detail == 2 { return .softBounce }
        // 5.1.0 (other address status) and the rest but policy: only when the words say so.
        if code.subject != 7, Self.saysNoMailbox(diagnostic) { return .hardBounce }
        return .failed
    }

    /// Phrases mail servers use for an address that does not exist.
    static let noMailboxPhrases = [
        "user unknown", "unknown user", "no such user", "does not exist", "mailbox unavailable",
        "recipient address rejected", "recipient not found", "invalid recipient", "no mailbox", "unknown recipient",
    ]

    static func saysNoMailbox(_ diagnostic: String) -> Bool {
        let text = diagnostic.lowercased()
        return noMailboxPhrases.contains { text.contains($0) }
    }

    /// An enhanced status code `class.subject.detail` (RFC 3463): class 2, 4 or 5, subject
    /// and detail 0 to 999.
    public struct StatusCode: Sendable, Equatable, CustomStringConvertible {
        public var klass: Int
        public var subject: Int
        public var detail: Int

        /// The code at the start of `text` (`5.1.1 (bad destination…)`), or nil.
        public init?(_ text: String) {
            let head = text.trimmingCharacters(in: .whitespaces).prefix { !$0.isWhitespace && $0 != "(" }
            let fields = head.split(separator: ".", omittingEmptySubsequences: false)
            guard fields.count == 3, fields.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy { ("0"..."9").contains($0) } }),
                  let k = Int(fields[0]), [2, 4, 5].contains(k), let s = Int(fields[1]), let d = Int(fields[2]) else { return nil }
            klass = k
            subject = s
            detail = d
        }

        public var description: String { "\(klass).\(subject).\(detail)" }
    }
}

/// A report read from an email: a delivery status notification (RFC 3464) or an abuse
/// report (RFC 5965), what it says per recipient, and where Herald's bounce token may be.
public struct MailReport: Sendable {
    public enum Kind: Sendable, Equatable {
        case deliveryStatus
        case feedback(type: String)
        /// Not a report Herald reads (an auto-reply, a plain-text bounce), with why.
        case other(String)
    }

    public var kind: Kind
    public var feedback: [MailFeedback]
    /// The report's `Message-ID`, else a digest of its first bytes: a second delivery of the
    /// same report records nothing new.
    public var reportID: String
    /// Addresses that may carry a bounce token (``BounceAddresses/Token``), likeliest first:
    /// the envelope and header recipients of the report, the original envelope sender of an
    /// abuse report, and the `Return-Path` of the returned message.
    public var tokenCandidates: [String]

    /// Most recipients read from one report, and addresses tried as bounce tokens.
    static let maxRecipients = 100
    static let maxCandidates = 10
    /// Bytes kept of a recipient and of a diagnostic.
    static let recipientLimit = 320
    static let detailLimit = 1_000

    /// Reads `bytes` (a whole message, as a mail server hands it to a pipe).
    public static func read(_ bytes: [UInt8]) -> MailReport {
        let message = MailReader.read(bytes)
        let type = message.contentType
        var report = MailReport(kind: .other(""), feedback: [], reportID: reportID(message, bytes), tokenCandidates: [])
        for name in ["X-Original-To", "Delivered-To", "Envelope-To", "To"] {
            if let value = message.field(name) { report.tokenCandidates += addresses(value) }
        }
        let original = message.allParts.first { ["message/rfc822", "text/rfc822-headers", "message/global-headers"].contains($0.contentType.mediaType) }
        let originalFields: [(name: String, value: String)] = original.map { part in
            part.contentType.mediaType == "message/rfc822" ? (part.parts.first?.fields ?? []) : MailReader.header(ArraySlice(part.body)).0
        } ?? []

        guard type.mediaType == "multipart/report" else {
            report.kind = .other("not a delivery report or abuse report (Content-Type \(type.mediaType))")
            return report
        }
        let reportType = (type.parameters["report-type"] ?? "").lowercased()
        if reportType == "delivery-status" || reportType == "global-delivery-status",
           let status = message.allParts.first(where: { ["message/delivery-status", "message/global-delivery-status"].contains($0.contentType.mediaType) }) {
            report.kind = .deliveryStatus
            for block in MailReader.fieldBlocks(status.body) where report.feedback.count < maxRecipients {
                func field(_ name: String) -> String? { block.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
                guard field("Action") != nil || field("Final-Recipient") != nil else { continue }
                let diagnostic = SafeText.clean(field("Diagnostic-Code") ?? "", limit: detailLimit)
                guard let kind = MailFeedback.classify(action: field("Action"), status: field("Status"), diagnostic: diagnostic) else { continue }
                let recipient = typedAddress(field("Final-Recipient") ?? field("Original-Recipient") ?? "")
                let code = field("Status").flatMap(MailFeedback.StatusCode.init)?.description
                let detail = diagnostic.isEmpty ? "action \(field("Action") ?? "none")" : diagnostic
                report.feedback.append(MailFeedback(kind: kind, recipient: recipient, status: code, detail: detail))
            }
        } else if reportType == "feedback-report",
                  let part = message.allParts.first(where: { $0.contentType.mediaType == "message/feedback-report" }) {
            let fields = MailReader.fieldBlocks(part.body).flatMap { $0 }
            func field(_ name: String) -> String? { fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value }
            let feedbackType = SafeText.clean(field("Feedback-Type")?.lowercased().trimmingCharacters(in: .whitespaces) ?? "", limit: 40)
            report.kind = .feedback(type: feedbackType)
            if let from = field("Original-Mail-From") { report.tokenCandidates += addresses(from) }
            if ["abuse", "fraud"].contains(feedbackType) {
                let rcpt = field("Original-Rcpt-To").map(typedAddress)
                    ?? originalFields.first { $0.name.caseInsensitiveCompare("To") == .orderedSame }.map { addresses($0.value).first ?? "" } ?? ""
                let agent = SafeText.clean(field("User-Agent") ?? "", limit: 200)
                report.feedback.append(MailFeedback(kind: .complaint, recipient: rcpt, status: nil,
                                                    detail: "abuse report (\(feedbackType))" + (agent.isEmpty ? "" : " from \(agent)")))
            }
        } else {
            report.kind = .other("a multipart/report of type \"\(SafeText.clean(reportType, limit: 60))\" without the part it needs")
        }
        for field in originalFields where field.name.caseInsensitiveCompare("Return-Path") == .orderedSame {
            report.tokenCandidates += addresses(field.value)
        }
        // Each candidate may cost a query: the first few distinct ones.
        var seen = Set<String>()
        report.tokenCandidates = Array(report.tokenCandidates.filter { seen.insert($0.lowercased()).inserted }.prefix(maxCandidates))
        return report
    }

    /// `rfc822; user@example.com` → `user@example.com`, cleaned and capped.
    static func typedAddress(_ value: String) -> String {
        let address = value.split(separator: ";", maxSplits: 1).last.map(String.init) ?? value
        return SafeText.clean(RecipientKey.trimmed(address).trimmingCharacters(in: CharacterSet(charactersIn: "<>")), limit: recipientLimit)
    }

    /// The addresses in a header value (`a@x, "B" <b+t@y>`), at most ten.
    static func addresses(_ value: String) -> [String] {
        value.split(separator: ",").prefix(10).compactMap { piece in
            let text = String(piece)
            let address = RecipientKey.angleAddress(text) ?? RecipientKey.trimmed(text)
            return address.contains("@") ? SafeText.clean(address, limit: recipientLimit) : nil
        }
    }

    static func reportID(_ message: MailReader.Part, _ bytes: [UInt8]) -> String {
        if let id = message.field("Message-ID").map({ SafeText.clean(RecipientKey.trimmed($0), limit: 256) }), id.count >= 3 { return id }
        let digest = SHA256.hash(data: Data(bytes.prefix(65_536)))
        return "sha256:" + digest.map { String(format: "%02x", $0) }.joined()
    }
}
