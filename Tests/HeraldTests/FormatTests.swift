import Foundation
@testable import HeraldCore
@testable import HeraldSystemd
import HeraldDrivers
import HeraldPostgres
import Logging
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

    @Test func multipartAlternativeWithTextFirst() {
        let text = EmailFormat.render(message, from: "Élodie <salon@example.fr>", messageID: "<m1@h>", date: Date(timeIntervalSince1970: 0))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(text.contains("Message-ID: <m1@h>\r\n"))
        #expect(text.contains("From: \(EmailFormat.encodeHeader("Élodie")) <salon@example.fr>\r\n"))
        #expect(text.contains("Content-Type: multipart/alternative; boundary="))
        let plain = try! #require(text.range(of: "text/plain"))
        let html = try! #require(text.range(of: "text/html"))
        #expect(plain.lowerBound < html.lowerBound)
        #expect(text.contains("Bonjour\r\nZoé"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func messageIDsAreUniquePerAttempt() {
        let a = EmailFormat.messageID(for: message, host: "mail.example")
        let b = EmailFormat.messageID(for: message, host: "mail.example")
        #expect(a != b)
        #expect(a.hasPrefix("<herald.12.2.") && a.hasSuffix("@mail.example>"))
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
