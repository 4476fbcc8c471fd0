import Foundation
import HeraldCore

/// Builds RFC 5322 messages: the headers both email drivers send, and the whole message the
/// file driver writes (the SMTP driver hands the same headers to libcurl's MIME API).
public enum EmailFormat {
    /// The Message-ID of this attempt at `domain`: `<herald.ID.ATTEMPT.HASH@domain>`, the hash
    /// over the recipient, the template and the second of rendering, so that it is unique
    /// per attempt and a preview at that instant prints the same one.
    public static func messageID(for message: RenderedMessage, domain: String) -> String {
        let plain = !domain.isEmpty && domain.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") }
        let host = plain ? domain : "herald.localhost"
        return "<herald.\(message.id).\(message.attempt).\(stamp(message))@\(host)>"
    }

    /// 16 hex digits (FNV-1a, 64 bits) over what identifies one rendering of one attempt
    /// (its second: what the `Date` header shows, so a preview `--at` that date matches).
    static func stamp(_ message: RenderedMessage) -> String {
        let second = Int64(clampingFloor: (message.renderedAt ?? Date(timeIntervalSince1970: 0)).timeIntervalSince1970)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(message.id).\(message.attempt).\(message.recipient).\(message.template).\(second)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The sender side of an email, as its channel is configured.
    public struct Sender: Sendable, Equatable {
        /// `From:` unless the message names its own sender (a rule's or location's `email_from`).
        public var from: String
        public var replyTo: String?
        /// The channel's one-click unsubscribe target, for messages without their own link.
        public var unsubscribeURL: String?
        /// `bounce_address`: each email's envelope sender is made from it (VERP).
        public var bounceAddress: String?

        public init(from: String, replyTo: String? = nil, unsubscribeURL: String? = nil, bounceAddress: String? = nil) {
            self.from = from
            self.replyTo = replyTo
            self.unsubscribeURL = unsubscribeURL
            self.bounceAddress = bounceAddress
        }
    }

    /// The header lines of an email, whichever driver carries it (SMTP hands them to
    /// libcurl, the file driver writes them): `From` (the message's sender, else the
    /// channel's), `To`, `Subject`, `Date` (when it was rendered), `Message-ID` (at the
    /// sender's domain), `Reply-To`, and `List-Unsubscribe` with `List-Unsubscribe-Post`
    /// (RFC 8058). Fails (permanently) when an address is not one.
    public static func headers(for message: RenderedMessage, sender: Sender) -> Result<Headers, DeliveryError> {
        let to: Recipients.Mailbox
        switch Recipients.mailbox(message.recipient) {
        case .success(let m): to = m
        case .failure(let e): return .failure(.permanent(e.reason))
        }
        let from: Recipients.Mailbox
        switch Recipients.mailbox(message.sender ?? sender.from) {
        case .success(let m): from = m
        case .failure(let e):
            let reason = e.reason.replacingOccurrences(of: "recipient ", with: "")
            return .failure(.permanent(message.sender == nil ? "the channel's from \(reason)" : "sender \(reason)"))
        }
        let messageID = messageID(for: message, domain: String(from.address.split(separator: "@").last ?? ""))
        var lines = [
            "From: \(from.header)",
            "To: \(to.header)",
            "Subject: \(encodeHeader(message.subject ?? ""))",
            "Date: \(date(message.renderedAt ?? Date()))",
            "Message-ID: \(messageID)",
        ]
        // Checked when the configuration is loaded; written as a mailbox (its name encoded).
        if let replyTo = sender.replyTo, let mailbox = try? Recipients.mailbox(replyTo).get() { lines.append("Reply-To: \(mailbox.header)") }
        if let url = message.unsubscribeURL ?? sender.unsubscribeURL {
            lines.append("List-Unsubscribe: <\(url)>")
            lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        }
        return .success(Headers(lines: lines, messageID: messageID, from: from, to: to))
    }

    /// An email's header lines and the addresses they name.
    public struct Headers: Sendable {
        public var lines: [String]
        public var messageID: String
        public var from: Recipients.Mailbox
        public var to: Recipients.Mailbox
    }

    /// RFC 2047 encoded-word for a header value that is not plain ASCII.
    public static func encodeHeader(_ value: String) -> String {
        let printable = value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
        if printable { return value }
        // Split into encoded-words of at most 75 characters, never inside a UTF-8 sequence.
        var words: [String] = []
        var chunk = Data()
        for ch in value {
            let bytes = Data(String(ch).utf8)
            if (chunk.count + bytes.count + 2) / 3 * 4 > 60 {
                words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=")
                chunk = Data()
            }
            chunk.append(bytes)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(chunk.base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 5322 date, e.g. `Tue, 10 May 2026 13:00:00 +0000`.
    public static func date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }

    /// The whole message with CRLF line ends, as the file driver writes it: the headers the
    /// SMTP driver sends too (``headers(for:sender:)``), then text only or
    /// multipart/alternative (text, then HTML). (libcurl encodes the SMTP driver's parts its
    /// own way: same headers and texts, another MIME layout.)
    /// A message with its own envelope sender starts with `Return-Path:`, as a mailbox
    /// that received it would show it.
    public static func render(_ message: RenderedMessage, sender: Sender) -> Result<(text: String, messageID: String), DeliveryError> {
        headers(for: message, sender: sender).map { headers in
            let returnPath = message.returnPath.map { ["Return-Path: <\($0)>"] } ?? []
            return (render(message, headers: returnPath + headers.lines), headers.messageID)
        }
    }

    static func render(_ message: RenderedMessage, headers: [String]) -> String {
        var lines = headers + ["MIME-Version: 1.0"]
        func crlf(_ s: String) -> String {
            s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        }
        if let html = message.html {
            // Stable (a preview prints the same bytes), and never a line of either part.
            var boundary = "herald-\(message.id)-\(stamp(message))"
            while message.body.contains(boundary) || html.contains(boundary) { boundary += "-\(boundary.count)" }
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("--\(boundary)")
            lines.append("Content-Type: text/plain; charset=utf-8")
            lines.append("Content-Transfer-Encoding: 8bit")
            lines.append("")
            lines.append(crlf(message.body))
            lines.append("--\(boundary)")
            lines.append("Content-Type: text/html; charset=utf-8")
            lines.append("Content-Transfer-Encoding: 8bit")
            lines.append("")
            lines.append(crlf(html))
            lines.append("--\(boundary)--")
        } else {
            lines.append("Content-Type: text/plain; charset=utf-8")
            lines.append("Content-Transfer-Encoding: 8bit")
            lines.append("")
            lines.append(crlf(message.body))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
