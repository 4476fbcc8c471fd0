import Foundation
import HeraldCore

/// Builds RFC 5322 messages (for the file driver; the SMTP driver uses libcurl's MIME API).
public enum EmailFormat {
    /// A globally unique Message-ID for this attempt.
    public static func messageID(for message: RenderedMessage, host: String = ProcessInfo.processInfo.hostName) -> String {
        let domain = host.isEmpty || host.contains(" ") ? "herald.localhost" : host
        return "<herald.\(message.id).\(message.attempt).\(UUID().uuidString.lowercased().prefix(8))@\(domain)>"
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

    /// `Name <addr>` with only the display name encoded (an encoded-word may not hold the address).
    static func mailboxHeader(_ text: String) -> String {
        (try? Recipients.mailbox(text).get())?.header ?? encodeHeader(text)
    }

    /// RFC 5322 date, e.g. `Tue, 10 May 2026 13:00:00 +0000`.
    public static func date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }

    /// The whole message with CRLF line ends: text only, or multipart/alternative (text, then HTML).
    public static func render(_ message: RenderedMessage, from: String, messageID: String, date: Date) -> String {
        var lines = [
            "From: \(mailboxHeader(from))",
            "To: \(mailboxHeader(message.recipient))",
            "Subject: \(encodeHeader(message.subject ?? ""))",
            "Date: \(Self.date(date))",
            "Message-ID: \(messageID)",
            "MIME-Version: 1.0",
        ]
        func crlf(_ s: String) -> String {
            s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        }
        if let html = message.html {
            let boundary = "herald-\(message.id)-\(UUID().uuidString.prefix(8))"
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
