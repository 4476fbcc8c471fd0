import Foundation
@testable import HeraldCore
@testable import HeraldSystemd
@testable import HeraldDrivers
import HeraldPostgres
import Logging
import Synchronization
import Testing

@Suite struct EmailFormatTests {
    let message = RenderedMessage(id: 12, channel: .email, recipient: "zoe@example.fr", template: "t", locale: "fr",
                                  attempt: 2, subject: "Rappel : votre rendez-vous à 13h — Coiffure Élodie", body: "Bonjour\nZoé", html: "<p>Bonjour</p>")

    @Test func asciiHeadersStayPlain() {
        #expect(EmailFormat.encodeHeader("Reminder for Tuesday") == "Reminder for Tuesday")
    }

    @Test func utf8HeadersAreEncodedWordsThatDecodeBack() throws {
        let encoded = EmailFormat.encodeHeader(message.subject!)
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count >= 2)
        var decoded = Data()
        for word in words {
            #expect(word.count <= 75)
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            decoded.append(try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))))
        }
        #expect(String(decoding: decoded, as: UTF8.self) == message.subject)
    }

    @Test func multipartAlternativeWithTextFirst() throws {
        var message = message
        message.renderedAt = Date(timeIntervalSince1970: 0)
        let (text, messageID) = try EmailFormat.render(message, sender: .init(from: "Élodie <salon@example.fr>")).get()
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(text.contains("Message-ID: \(messageID)\r\n") && messageID.hasSuffix("@example.fr>"))
        #expect(text.contains("From: \(EmailFormat.encodeHeader("Élodie")) <salon@example.fr>\r\n"))
        #expect(text.contains("Content-Type: multipart/alternative; boundary="))
        let plain = try #require(text.range(of: "text/plain"))
        let html = try #require(text.range(of: "text/html"))
        #expect(plain.lowerBound < html.lowerBound)
        #expect(text.contains("Bonjour\r\nZoé"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(!text.contains("List-Unsubscribe"), "no link, no header")
    }

    /// The file driver writes the headers the SMTP driver sends: the message's own sender
    /// (and its domain in the Message-ID), Reply-To, and the one-click unsubscribe pair.
    @Test func theHeadersCarryTheSenderReplyToAndTheUnsubscribeLink() throws {
        var message = message
        message.sender = "Sol Centro <centro@sol.example>"
        message.unsubscribeURL = "https://h.example/unsubscribe/tok"
        let headers = try EmailFormat.headers(for: message, sender: .init(from: "Herald <h@herald.example>", replyTo: "citas@sol.example",
                                                                          unsubscribeURL: "https://fallback.example")).get()
        #expect(headers.lines.contains(#"From: "Sol Centro" <centro@sol.example>"#))
        #expect(headers.messageID.hasSuffix("@sol.example>"))
        #expect(headers.lines.contains("Reply-To: citas@sol.example"))
        #expect(headers.lines.contains("List-Unsubscribe: <https://h.example/unsubscribe/tok>"))
        #expect(headers.lines.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        message.unsubscribeURL = nil
        #expect(try EmailFormat.headers(for: message, sender: .init(from: "h@herald.example", unsubscribeURL: "https://fallback.example")).get()
            .lines.contains("List-Unsubscribe: <https://fallback.example>"))
        message.recipient = "not an address"
        #expect(throws: DeliveryError.self) { try EmailFormat.headers(for: message, sender: .init(from: "h@herald.example")).get() }
    }

    /// The same rendering gives the same bytes (a preview equals the outbox file); another
    /// attempt or instant gives another Message-ID; a body holding the boundary moves it.
    @Test func messageIDsAreStablePerRenderingAndUniquePerAttempt() throws {
        var message = message
        message.renderedAt = Date(timeIntervalSince1970: 1_778_569_200)
        let a = EmailFormat.messageID(for: message, domain: "mail.example")
        #expect(a == EmailFormat.messageID(for: message, domain: "mail.example"))
        #expect(a.hasPrefix("<herald.12.2.") && a.hasSuffix("@mail.example>"))
        var next = message
        next.attempt = 3
        #expect(EmailFormat.messageID(for: next, domain: "mail.example") != a)
        next = message
        next.renderedAt = message.renderedAt?.addingTimeInterval(1)
        #expect(EmailFormat.messageID(for: next, domain: "mail.example") != a)
        next.renderedAt = message.renderedAt?.addingTimeInterval(0.5)
        #expect(EmailFormat.messageID(for: next, domain: "mail.example") == a, "within the second its Date header shows: the same")
        #expect(EmailFormat.messageID(for: message, domain: "bad domain>").hasSuffix("@herald.localhost>"))
        #expect(EmailFormat.messageID(for: message, domain: "x\r\nBcc: y").hasSuffix("@herald.localhost>"))

        let sender = EmailFormat.Sender(from: "h@herald.example")
        #expect(try EmailFormat.render(message, sender: sender).get().text == EmailFormat.render(message, sender: sender).get().text)
        let boundary = "herald-12-\(EmailFormat.stamp(message))"
        message.body = "--\(boundary)\nContent-Type: text/html\n\n<script>"
        let text = try EmailFormat.render(message, sender: sender).get().text
        #expect(!text.contains("boundary=\"\(boundary)\""), "the boundary moved off the body's line")
        #expect(text.contains("boundary=\"\(boundary)-"))
    }
}

@Suite struct PostgresArrayTests {
    @Test func quotesAndEscapes() {
        #expect(PostgresArray(["a", "b c", "q\"uote", "back\\slash", nil, "{,}"] as [String?]).postgresText
                == #"{"a","b c","q\"uote","back\\slash",NULL,"{,}"}"#)
        #expect(PostgresArray([Int64(1), 2, 3]).postgresText == #"{"1","2","3"}"#)
        #expect(PostgresArray([String]()).postgresText == "{}")
    }
}

@Suite struct JournalLogHandlerTests {
    @Test(arguments: [(Logger.Level.error, 3), (.warning, 4), (.notice, 5), (.info, 6), (.debug, 7), (.trace, 7), (.critical, 2)])
    func prioritiesFollowSyslog(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(of: level) == priority)
    }

    @Test func valuesWithSpacesQuotesOrEqualsAreQuotedAndEscaped() {
        #expect(JournalLogHandler.format("plain") == "plain")
        #expect(JournalLogHandler.format("+34600000001") == "+34600000001")
        #expect(JournalLogHandler.format("") == "\"\"")
        #expect(JournalLogHandler.format("two words") == "\"two words\"")
        #expect(JournalLogHandler.format("a=b") == "\"a=b\"")
        #expect(JournalLogHandler.format("say \"hi\" to C:\\tmp") == #""say \"hi\" to C:\\tmp""#)
        #expect(JournalLogHandler.format("cita del 10 de mayo à 13 h") == "\"cita del 10 de mayo à 13 h\"")
        #expect(JournalLogHandler.format("back\\slash") == "back\\slash")  // no space: left as is
    }

    @Test func leadingKeysComeFirstInTheirOrderAndTheRestSorted() {
        let metadata: Logger.Metadata = [
            "zone": "Europe/Madrid", "duration_ms": "12", "driver": "twilio", "message": "7", "error": "provider said: busy",
            "attempt": "2", "channel": "sms", "status": "pending", "after": "x", "retry_in": "30s", "provider_id": "SM1",
            "b": "1", "y": "2", "m": "3", "c": "4",
        ]
        #expect(JournalLogHandler.text("delivery failed; will retry", metadata)
            == #"delivery failed; will retry message=7 channel=sms status=pending attempt=2 duration_ms=12 after=x b=1 c=4 driver=twilio error="provider said: busy" m=3 provider_id=SM1 retry_in=30s y=2 zone=Europe/Madrid"#)
        #expect(JournalLogHandler.text("herald ready", [:]) == "herald ready")
        #expect(JournalLogHandler.text("gap", ["status": "sent", "b": "2", "a": "1"]) == "gap status=sent a=1 b=2")
    }
}

@Suite struct LogLinesTests {
    /// What a held scope hands to its sink, in order.
    final class Collected: Sendable {
        let writes = Mutex<[String]>([])
        func sink(_ bytes: [UInt8]) { writes.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
    }

    @Test func linesLoggedTogetherGoOutOnceWholeAndInOrder() {
        let collected = Collected()
        let held = HeldLines(sink: collected.sink)
        LogLines.together(held) {
            StandardErrorLine.write("<6>delivered message=1\n")
            StandardErrorLine.write("<3>two\nlines\n")
            #expect(collected.writes.withLock { $0.isEmpty }, "nothing written before the scope ends")
        }
        #expect(collected.writes.withLock { $0 } == ["<6>delivered message=1\n<3>two ⏎ lines\n"])
    }

    @Test func aScopeInsideAScopeKeepsTheOuterOrder() {
        let collected = Collected()
        LogLines.together(HeldLines(sink: collected.sink)) {
            StandardErrorLine.write("1\n")
            LogLines.together { StandardErrorLine.write("2\n") }
            StandardErrorLine.write("3\n")
        }
        #expect(collected.writes.withLock { $0 } == ["1\n2\n3\n"])
    }

    @Test func aScopeWritesEvery64kBAndNothingIsHeldAfterIt() async {
        let collected = Collected()
        let held = HeldLines(sink: collected.sink)
        let line = String(repeating: "x", count: 999) + "\n"
        let later = LogLines.together(held) {
            for _ in 0..<100 { StandardErrorLine.write(line) }
            // A task started inside inherits the scope; its lines after the end are not held.
            return Task { () -> (HeldLines?, Bool) in
                try? await Task.sleep(for: .milliseconds(20))
                StandardErrorLine.write("<6>a line from the inherited task, written straight to standard error\n")
                var late = "late\n"
                return (StandardErrorLine.held, held.append(&late))
            }
        }
        let writes = collected.writes.withLock { $0 }
        #expect(writes.count == 2 && writes[0].utf8.count == 66 * 1000 && writes.joined() == String(repeating: line, count: 100))
        let (inherited, taken) = await later.value
        #expect(inherited === held, "the task inherited the scope")
        #expect(taken == false, "flushed: the caller writes the line itself")
        #expect(collected.writes.withLock { $0.count } == 2, "nothing more reached the scope's sink")
    }
}

@Suite struct ZeroPaddedTests {
    @Test func padsToTheWidthAndKeepsTheSign() {
        #expect(7.zeroPadded(2) == "07")
        #expect(0.zeroPadded(4) == "0000")
        #expect(2026.zeroPadded(4) == "2026")
        #expect(12345.zeroPadded(2) == "12345")
        #expect((-7).zeroPadded(3) == "-007")
        #expect(Int32(9).zeroPadded(2) == "09")
        for n in 0...12_000 {
            #expect(n.zeroPadded(4) == String(format: "%04d", n))
            #expect((-n).zeroPadded(4) == (n == 0 ? "0000" : "-" + String(format: "%04d", n)))
        }
    }
}

@Suite struct NativeTextTests {
    @Test func trimmingWhiteSpaceMatchesFoundation() {
        let pieces = ["", " ", "\n", "\t", "\r\n", "\u{A0}", "\u{202F}", "\u{2028}", "\u{3000}", "\u{85}", "\u{200B}", "\u{FEFF}", "\u{180E}", "a", "é", "Hola", "😀", " x y "]
        var checked = 0
        for a in pieces { for b in pieces { for c in pieces {
            let text = a + b + "m" + c + a
            #expect(text.trimmingWhiteSpace == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(Array(text.unicodeScalars))")
            let bare = a + b + c
            #expect(bare.trimmingWhiteSpace == bare.trimmingCharacters(in: .whitespacesAndNewlines), "\(Array(bare.unicodeScalars))")
            checked += 2
        } } }
        #expect(checked == 2 * 18 * 18 * 18)
    }

    @Test func localeTagsUseHyphens() {
        #expect("en_GB".hyphenatedLocaleTag == "en-GB")
        #expect("es-MX".hyphenatedLocaleTag == "es-MX")
        #expect("zh_Hant_TW".hyphenatedLocaleTag == "zh-Hant-TW")
        #expect("fr".hyphenatedLocaleTag == "fr")
    }
}
