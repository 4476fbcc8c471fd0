import Foundation
import HeraldCore
@testable import HeraldInbound
import Testing

/// Issue 27: the pure side of bounces and abuse reports: the MIME reader, the reading of
/// RFC 3464 and RFC 5965 reports, the classification of statuses, and bounce addresses.
@Suite struct MailReportTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let postfixDSN = """
        From: MAILER-DAEMON@mx.sol.example (Mail Delivery System)\r
        To: bounces+b1-42-0123456789abcdef0123@sol.example\r
        Subject: Undelivered Mail Returned to Sender\r
        Message-ID: <20261204.ABC@mx.sol.example>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report; report-type=delivery-status;\r
        \tboundary="AB12/mx.sol.example"\r
        \r
        This is a MIME-encapsulated message.\r
        \r
        --AB12/mx.sol.example\r
        Content-Description: Notification\r
        Content-Type: text/plain; charset=us-ascii\r
        \r
        I'm sorry to have to inform you that your message could not be delivered.\r
        \r
        --AB12/mx.sol.example\r
        Content-Description: Delivery report\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.sol.example\r
        X-Postfix-Queue-ID: AB12\r
        \r
        Final-Recipient: rfc822; ana@example.com\r
        Original-Recipient: rfc822;Ana@Example.com\r
        Action: failed\r
        Status: 5.1.1\r
        Remote-MTA: dns; mx.example.com\r
        Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address\r
            rejected: User unknown in virtual mailbox table\r
        \r
        Final-Recipient: rfc822; luis@example.com\r
        Action: delayed\r
        Status: 4.4.1\r
        Diagnostic-Code: X-Postfix; connect to mx.example.com: Connection timed out\r
        \r
        Final-Recipient: rfc822; eva@example.com\r
        Action: delivered\r
        Status: 2.0.0\r
        \r
        --AB12/mx.sol.example\r
        Content-Description: Undelivered Message Headers\r
        Content-Type: text/rfc822-headers\r
        \r
        Return-Path: <bounces+b1-42-0123456789abcdef0123@sol.example>\r
        From: Sol <citas@sol.example>\r
        To: ana@example.com\r
        \r
        --AB12/mx.sol.example--\r

        """

    @Test func aPostfixReportGivesEachFailedOrDelayedRecipient() {
        let report = MailReport.read(Self.bytes(Self.postfixDSN))
        #expect(report.kind == .deliveryStatus)
        #expect(report.reportID == "<20261204.ABC@mx.sol.example>")
        #expect(report.feedback == [
            MailFeedback(kind: .hardBounce, recipient: "ana@example.com", status: "5.1.1",
                         detail: "smtp; 550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown in virtual mailbox table"),
            MailFeedback(kind: .softBounce, recipient: "luis@example.com", status: "4.4.1",
                         detail: "X-Postfix; connect to mx.example.com: Connection timed out"),
        ])
        #expect(report.tokenCandidates == ["bounces+b1-42-0123456789abcdef0123@sol.example"])  // the same address once
    }

    @Test func lineFeedsAloneReadTheSame() {
        let lf = Self.postfixDSN.replacingOccurrences(of: "\r\n", with: "\n")
        let a = MailReport.read(Self.bytes(lf)), b = MailReport.read(Self.bytes(Self.postfixDSN))
        #expect(a.feedback == b.feedback && a.kind == b.kind && a.tokenCandidates == b.tokenCandidates)
    }

    static let arf = """
        From: <staff@mailbox.example>
        To: <fbl@sol.example>
        Subject: FW: Recordatorio
        Message-ID: <arf-1@mailbox.example>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54"

        --part1_13d.2e68ed54
        Content-Type: text/plain; charset="US-ASCII"
        Content-Transfer-Encoding: 7bit

        This is an email abuse report.

        --part1_13d.2e68ed54
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: SomeGenerator/1.0
        Version: 1
        Original-Mail-From: <bounces+b1-7-aaaaaaaaaaaaaaaaaaaa@sol.example>
        Original-Rcpt-To: <Lucia@Example.es>

        --part1_13d.2e68ed54
        Content-Type: message/rfc822
        Content-Disposition: inline

        Return-Path: <bounces+b1-8-bbbbbbbbbbbbbbbbbbbb@sol.example>
        From: <citas@sol.example>
        To: <lucia@example.es>
        Subject: Recordatorio

        Hola.
        --part1_13d.2e68ed54--
        """

    @Test func anAbuseReportIsAComplaintWithTheOriginalSenderAsTheToken() {
        let report = MailReport.read(Self.bytes(Self.arf))
        #expect(report.kind == .feedback(type: "abuse"))
        #expect(report.feedback == [MailFeedback(kind: .complaint, recipient: "Lucia@Example.es", status: nil, detail: "abuse report (abuse) from SomeGenerator/1.0")])
        #expect(report.tokenCandidates == ["fbl@sol.example", "bounces+b1-7-aaaaaaaaaaaaaaaaaaaa@sol.example", "bounces+b1-8-bbbbbbbbbbbbbbbbbbbb@sol.example"])
    }

    @Test func aNotSpamReportOrAnAutoReplyRecordsNothing() {
        let notSpam = MailReport.read(Self.bytes(Self.arf.replacingOccurrences(of: "Feedback-Type: abuse", with: "Feedback-Type: not-spam")))
        #expect(notSpam.kind == .feedback(type: "not-spam") && notSpam.feedback.isEmpty)
        let reply = MailReport.read(Self.bytes("To: bounces+b1-1-0123456789abcdef0123@sol.example\nSubject: Fuera de la oficina\n\nVuelvo el lunes.\n"))
        #expect(reply.feedback.isEmpty)
        guard case .other(let why) = reply.kind else { Issue.record("an auto-reply read as a report"); return }
        #expect(why.contains("text/plain"))
    }

    @Test func aBase64StatusPartIsDecoded() {
        let status = "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.2.1\n"
        let encoded = Data(status.utf8).base64EncodedString(options: .lineLength64Characters)
        let text = "Content-Type: multipart/report; report-type=\"delivery-status\"; boundary=\"==x==\"\n\n--==x==\nContent-Type: text/plain\n\nsorry\n--==x==\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n\(encoded)\n--==x==--\n"
        #expect(MailReport.read(Self.bytes(text)).feedback == [MailFeedback(kind: .hardBounce, recipient: "a@b.example", status: "5.2.1", detail: "action failed")])
    }

    @Test(arguments: [
        ("failed", "5.1.1", "", MailFeedback.Kind.hardBounce),
        ("failed", "5.1.10", "", .hardBounce),  // null MX
        ("failed", "5.1.2", "", .hardBounce),
        ("failed", "5.2.1", "", .hardBounce),
        ("failed", "5.2.2", "mailbox full", .softBounce),
        ("failed", "5.7.1", "550 5.7.1 address rejected by policy", .failed),  // policy: not the address
        ("failed", "5.0.0", "smtp; 550 unknown user", .hardBounce),  // Exim's habit
        ("failed", "5.5.0", "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable", .hardBounce),
        ("failed", "5.3.4", "message too big", .failed),
        ("failed", "4.4.7", "", .softBounce),
        ("failed", "bogus", "", .failed),
        ("delayed", "4.4.1", "", .softBounce),
        ("FAILED", "5.1.1 (bad destination mailbox address)", "", .hardBounce),
        ("", "5.1.1", "", .hardBounce),  // no Action but a permanent status
        ("failed", "5.1.7", "", .failed),  // the sender's address, not the recipient's
        ("failed", "5.1.1", "550 5.1.1 <bounces+b1-1-x@sol.example>: Sender address rejected: undeliverable address", .failed),
        ("failed", "5.1.0", "550 5.1.0 Address rejected", .failed),  // 5.1.0 alone says too little
        ("failed", "5.1.0", "550 5.1.0 <ana@x>: user unknown", .hardBounce),
    ])
    func classification(action: String, status: String, diagnostic: String, kind: MailFeedback.Kind) {
        #expect(MailFeedback.classify(action: action, status: status, diagnostic: diagnostic) == kind)
    }

    @Test(arguments: [("delivered", "2.0.0"), ("relayed", "2.0.0"), ("expanded", "2.0.0"), ("", ""), ("weird", "x")])
    func nothingToRecord(action: String, status: String) {
        #expect(MailFeedback.classify(action: action, status: status, diagnostic: "") == nil)
    }

    @Test(arguments: ["5.1", "5.1.1.1", "6.1.1", "5.1.1000", "5..1", "", "x.y.z", "５.1.1"])
    func badStatusCodes(text: String) {
        #expect(MailFeedback.StatusCode(text) == nil)
    }

    @Test func headersUnfoldAndQuotedParametersKeepSemicolons() {
        let part = MailReader.read(Self.bytes("Content-Type: multipart/mixed;\n boundary=\"a;b\"; x=\"q\\\"d\"\nSubject: one\n\ttwo\n\nbody"))
        #expect(part.contentType.mediaType == "multipart/mixed")
        #expect(part.contentType.parameters == ["boundary": "a;b", "x": "q\"d"])
        #expect(part.field("subject") == "one two")
    }

    @Test func quotedPrintableAndBase64Decode() {
        #expect(MailReader.quotedPrintable(ArraySlice("caf=C3=A9 =\r\nsoft=3D".utf8)) == Array("café soft=".utf8))
        #expect(MailReader.quotedPrintable(ArraySlice("end=".utf8)) == Array("end".utf8))
        #expect(MailReader.quotedPrintable(ArraySlice("=ZZ".utf8)) == Array("=ZZ".utf8))
        #expect(MailReader.base64(ArraySlice("aG9s\r\nYQ==".utf8)) == Array("hola".utf8))
        #expect(MailReader.base64(ArraySlice("!!aG9sYQ".utf8)) == Array("hola".utf8))
    }

    @Test func deepNestingAndManyPartsStopAtTheirLimits() {
        var text = "body"
        for level in 0..<40 {
            text = "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n\(text)\n--b\(level)--\n"
        }
        let deep = MailReader.read(Self.bytes(text))
        func depth(_ p: MailReader.Part) -> Int { 1 + (p.parts.map(depth).max() ?? 0) }
        #expect(depth(deep) <= MailReader.maxDepth + 1)
        let many = "Content-Type: multipart/mixed; boundary=x\n\n" + String(repeating: "--x\n\nhi\n", count: 1_000) + "--x--\n"
        #expect(MailReader.read(Self.bytes(many)).allParts.count <= MailReader.maxParts + 1)
    }

    @Test func anyBytesReadWithoutTrapping() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["--b\n", "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n", "\n", "\r\n",
                      "Content-Type: message/delivery-status\n", "Action: failed\n", "Status: 5.1.1\n", "=", "=\r\n", "Final-Recipient: ;\n",
                      "Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n", "\u{0}", "é", " \t", ":", "--b--\n"]
        for _ in 0..<500 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...60, using: &generator) {
                if Bool.random(using: &generator) {
                    bytes += Array(pieces.randomElement(using: &generator)!.utf8)
                } else {
                    bytes.append(UInt8.random(in: 0...255, using: &generator))
                }
            }
            let report = MailReport.read(bytes)
            #expect(report.feedback.count <= 100)
            for item in report.feedback { #expect(!item.detail.utf8.contains(0)) }
        }
    }

    // MARK: Bounce addresses

    @Test func aBounceAddressCarriesASignedTokenThatOnlyItsRecipientVerifies() throws {
        let key = Array("0123456789abcdef".utf8)
        let bounces = try #require(BounceAddresses(address: "bounces@sol.example", key: key))
        let address = bounces.address(messageID: 42, recipient: "Ana López <Ana@Example.com>")
        #expect(address.hasPrefix("bounces+b1-42-") && address.hasSuffix("@sol.example"))
        #expect(address.split(separator: "@")[0].utf8.count <= 64)
        let token = try #require(BounceAddresses.Token(in: "<" + address.uppercased() + ">"))
        #expect(token.messageID == 42)
        #expect(BounceAddresses.verify(token, recipient: "ana@example.com", key: key))
        #expect(!BounceAddresses.verify(token, recipient: "eva@example.com", key: key))
        #expect(!BounceAddresses.verify(token, recipient: "ana@example.com", key: Array("another key".utf8)))
        #expect(!BounceAddresses.verify(token, recipient: "ana@example.com", key: []))
        var altered = token
        altered.messageID = 43
        #expect(!BounceAddresses.verify(altered, recipient: "ana@example.com", key: key))
        let longest = bounces.address(messageID: Int64.max, recipient: "a@b.c")
        #expect(BounceAddresses.Token(in: longest)?.messageID == Int64.max)
    }

    @Test(arguments: ["bounces@sol.example", "b@x", "return.path-1_a@mail.sol.example", "abcdefghijklmnopqrst@sol.example"])
    func goodBounceAddresses(address: String) {
        #expect(BounceAddressRule.split(address) != nil)
    }

    @Test(arguments: ["bounces+x@sol.example", "bounces", "@sol.example", "bounces@", "a@b@c", "abcdefghijklmnopqrstu@sol.example",
                      ".b@sol.example", "b.@sol.example", "b@.sol.example", "b@sol.example.", "bö@sol.example", "b c@sol.example", "b@sol_example"])
    func badBounceAddresses(address: String) {
        #expect(BounceAddressRule.split(address) == nil)
        #expect(BounceAddresses(address: address, key: [1]) == nil)
    }

    @Test(arguments: ["bounces@sol.example", "bounces+b1-42-0123@sol.example", "bounces+b1-0-0123456789abcdef0123@x", "bounces+b2-1-0123456789abcdef0123@x",
                      "bounces+b1-1-0123456789abcdef012g@x", "bounces+b1-99999999999999999999-0123456789abcdef0123@x", "b1-1-0123456789abcdef0123@x",
                      "bounces+b1-1-0123456789abcdef0123", "bounces+b1--1-0123456789abcdef0123@x"])
    func notTokens(address: String) {
        #expect(BounceAddresses.Token(in: address) == nil)
    }
}
