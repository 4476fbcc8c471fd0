import Foundation
import HeraldCore
import HeraldCurl
import HeraldDrivers
import Testing

func rendered(_ id: Int64 = 1, channel: Channel, to: String, subject: String? = nil, body: String, html: String? = nil) -> RenderedMessage {
    RenderedMessage(id: id, channel: channel, recipient: to, template: "t", locale: "es", attempt: 1, subject: subject, body: body, html: html)
}

/// Expects `body` to throw a DeliveryError and returns it.
func deliveryError(_ body: () async throws -> DeliveryReceipt) async -> DeliveryError? {
    do {
        let receipt = try await body()
        Issue.record("expected a delivery error, got \(receipt)")
        return nil
    } catch let error as DeliveryError {
        return error
    } catch {
        Issue.record("expected a DeliveryError, got \(error)")
        return nil
    }
}

@Suite(.serialized) struct SMTPDriverTests {
    func settings(_ peer: Peer, tls: MailTransfer.TLS = .required, password: String = "s3cret pass", reuse: Bool = true,
                  concurrent: Int = 1) -> SMTPDriver.Settings {
        SMTPDriver.Settings(url: "smtp://127.0.0.1:\(peer.port)", tls: tls, username: "herald", password: password,
                            from: "Peluquería Sol <citas@sol.example>", replyTo: "recepcion@sol.example",
                            unsubscribeURL: "https://sol.example/u/123", reuseConnections: reuse,
                            throughput: Throughput(maxConcurrent: concurrent, connectTimeout: .seconds(5), timeout: .seconds(10),
                                                   caFile: peer.file("cert.pem").path))
    }

    @Test func sendsMultipartAlternativeOverSTARTTLSWithAuthAndEncodedHeaders() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let driver = try SMTPDriver(settings(peer))
        let subject = "Recordatorio: tu cita del martes 12 de mayo — 13:00 ✂️"
        let text = "Hola, Lucía:\n\nTe recordamos tu cita del martes 12 de mayo a las 13:00.\n\nUn saludo,\nPeluquería Sol\n"
        let html = "<p>Hola, Lucía:</p><p>Te recordamos tu cita del <b>martes 12 de mayo</b> a las 13:00.</p>"
        let receipt = try await driver.deliver(rendered(channel: .email, to: "Lucía Fernández <lucia@example.es>", subject: subject, body: text, html: html))
        let mails = peer.mails()
        try #require(mails.count == 1)
        let mail = mails[0]
        #expect(mail["tls"] as? Bool == true)
        #expect(mail["auth"] as? String == "herald")
        #expect(mail["mail_from"] as? String == "citas@sol.example")
        #expect(mail["rcpt_tos"] as? [String] == ["lucia@example.es"])
        let headers = try #require(mail["headers"] as? [String: String])
        #expect(headers["Subject"] == subject)
        #expect(mail["from_name"] as? String == "Peluquería Sol")
        #expect(mail["to_name"] as? String == "Lucía Fernández")
        #expect(headers["Message-ID"] == receipt.providerMessageID)
        #expect(receipt.providerMessageID?.hasSuffix("@sol.example>") == true)
        #expect(receipt.responseCode == "250")
        #expect(headers["Reply-To"] == "recepcion@sol.example")
        #expect(headers["List-Unsubscribe"] == "<https://sol.example/u/123>")
        #expect(headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        let date = try #require(headers["Date"])
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let sent = try #require(f.date(from: date))
        #expect(abs(sent.timeIntervalSinceNow) < 120)
        let parts = try #require(mail["parts"] as? [[String: Any]])
        #expect(parts.map { $0["type"] as? String ?? "" } == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html"])
        #expect((parts[2]["content"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n") == text)
        #expect((parts[3]["content"] as? String)?.replacingOccurrences(of: "\r\n", with: "\n") == html)
        #expect(parts[2]["charset"] as? String == "utf-8")
    }

    @Test func textOnlyMessageHasOneTextPart() async throws {
        let peer = try await Peer.start("smtp_server.py")
        _ = try await SMTPDriver(settings(peer)).deliver(rendered(channel: .email, to: "ana@example.es", subject: "Hola", body: "Solo texto, ñ €"))
        let parts = try #require(peer.mails().first?["parts"] as? [[String: Any]])
        #expect(parts.last?["type"] as? String == "text/plain")
        #expect((parts.last?["content"] as? String)?.hasPrefix("Solo texto, ñ €") == true)
        #expect(!parts.contains { $0["type"] as? String == "text/html" })
    }

    @Test func oneConnectionServesManyMessagesUnlessReuseIsOff() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let reusing = try SMTPDriver(settings(peer))
        for i in 1...3 { _ = try await reusing.deliver(rendered(Int64(i), channel: .email, to: "a\(i)@example.es", subject: "s", body: "b")) }
        let fresh = try SMTPDriver(settings(peer, reuse: false))
        for i in 4...6 { _ = try await fresh.deliver(rendered(Int64(i), channel: .email, to: "a\(i)@example.es", subject: "s", body: "b")) }
        let sessions = peer.mails().map { $0["session"] as? Int ?? 0 }
        #expect(sessions.count == 6)
        #expect(Set(sessions.prefix(3)).count == 1)
        #expect(Set(sessions.suffix(3)).count == 3)
    }

    @Test func a451IsRetriedAndThenAccepted() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let driver = try SMTPDriver(settings(peer))
        let message = rendered(channel: .email, to: "tempfail@example.es", subject: "s", body: "b")
        let error = await deliveryError { try await driver.deliver(message) }
        #expect(error?.isTransient == true)
        #expect(error?.code == "451")
        #expect(error?.reason.contains("Try again later") == true)
        #expect(try await driver.deliver(message).responseCode == "250")
        #expect(peer.mails().count == 1)
    }

    @Test func a550FailsPermanently() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let error = await deliveryError { try await SMTPDriver(settings(peer)).deliver(rendered(channel: .email, to: "reject@example.es", subject: "s", body: "b")) }
        guard case .permanent(let reason, let code)? = error else { Issue.record("not permanent: \(String(describing: error))"); return }
        #expect(code == "550")
        #expect(reason.contains("550") && reason.contains("User unknown"), "\(reason)")
    }

    @Test func wrongPasswordIsPermanentAndNeverLogged() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let error = await deliveryError {
            try await SMTPDriver(settings(peer, password: "wrong-pass-xyz")).deliver(rendered(channel: .email, to: "a@example.es", subject: "s", body: "b"))
        }
        #expect(error?.isTransient == false)
        #expect(error?.code == "535")
        #expect(error?.reason.contains("wrong-pass-xyz") == false)
    }

    @Test func opportunisticTLSSendsPlainWhenTheServerHasNoSTARTTLS() async throws {
        let peer = try await Peer.start("smtp_server.py", arguments: ["--no-tls", "--no-auth"])
        var s = settings(peer, tls: .opportunistic)
        s.username = nil
        #expect(try await SMTPDriver(s).deliver(rendered(channel: .email, to: "a@example.es", subject: "s", body: "b")).responseCode == "250")
        #expect(peer.mails().first?["tls"] as? Bool == false)
        // Required TLS against the same server: refused, nothing sent in clear.
        s.tls = .required
        let error = await deliveryError { try await SMTPDriver(s).deliver(rendered(2, channel: .email, to: "b@example.es", subject: "s", body: "b")) }
        #expect(error != nil)
        #expect(peer.mails().count == 1)
    }

    @Test func anInvalidAddressFailsWithoutContactingTheServer() async throws {
        let peer = try await Peer.start("smtp_server.py")
        let driver = try SMTPDriver(settings(peer))
        for bad in ["not-an-address", "ana@", "ana@example", "ana lopez@example.es", "Ana <ana@@example.es>"] {
            let error = await deliveryError { try await driver.deliver(rendered(channel: .email, to: bad, subject: "s", body: "b")) }
            #expect(error?.isTransient == false)
            #expect(error?.reason.contains("recipient \"\(bad)\"") == true, "\(String(describing: error))")
        }
        #expect(peer.mails().isEmpty)
    }
}

@Suite(.serialized) struct TwilioDriverTests {
    func driver(_ port: Int, timeout: Duration = .seconds(5), rate: Double? = nil, concurrent: Int = 4) -> TwilioDriver {
        TwilioDriver(.init(baseURL: "http://127.0.0.1:\(port)", accountSID: "ACtest", authToken: "tok-secret", from: "+34911000000",
                           statusCallback: "https://crm.example/status",
                           throughput: Throughput(maxConcurrent: concurrent, limits: SenderLimits(perSender: rate.flatMap { Pace(perSecond: $0) }), connectTimeout: .seconds(2), timeout: timeout)))
    }

    @Test func successRecordsTheSidAndSendsTheFormFields() async throws {
        let peer = try await Peer.start("http_provider.py")
        let receipt = try await driver(peer.port).deliver(rendered(channel: .sms, to: "+15005550001", body: "Peluquería Sol: cita el martes ✂️ & más"))
        #expect(receipt.providerMessageID?.hasPrefix("SM") == true)
        #expect(receipt.responseCode == "201")
        let request = try #require(peer.requests().first)
        #expect(request["user"] as? String == "ACtest")
        let form = try #require(request["form"] as? [String: String])
        #expect(form == ["To": "+15005550001", "From": "+34911000000", "Body": "Peluquería Sol: cita el martes ✂️ & más",
                         "StatusCallback": "https://crm.example/status"])
    }

    @Test func a400KeepsTwilioCodeAndMessageAndIsPermanent() async throws {
        let peer = try await Peer.start("http_provider.py")
        let error = await deliveryError { try await driver(peer.port).deliver(rendered(channel: .sms, to: "+15005550002", body: "x")) }
        #expect(error == .permanent("SMS provider answered 400, error 21211: The 'To' number +15005550002 is not a valid phone number.", code: "21211"))
    }

    @Test func a429HonoursRetryAfterThenSucceeds() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = driver(peer.port)
        let error = await deliveryError { try await d.deliver(rendered(channel: .sms, to: "+15005550003", body: "x")) }
        #expect(error == .transient("SMS provider answered 429, error 20429: Too Many Requests", code: "429", retryAfter: .seconds(1)))
        #expect(try await d.deliver(rendered(channel: .sms, to: "+15005550003", body: "x")).responseCode == "201")
    }

    @Test func a500IsTransientThenSucceeds() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = driver(peer.port)
        let error = await deliveryError { try await d.deliver(rendered(channel: .sms, to: "+15005550004", body: "x")) }
        #expect(error?.isTransient == true && error?.code == "500")
        #expect(try await d.deliver(rendered(channel: .sms, to: "+15005550004", body: "x")).responseCode == "201")
    }

    @Test func aResponseSlowerThanTheTimeoutIsTransient() async throws {
        let peer = try await Peer.start("http_provider.py")
        // The peer answers this number 3 s late the first time: 2 s times it out, and leaves
        // the retry room on a loaded machine.
        let d = driver(peer.port, timeout: .seconds(2))
        let error = await deliveryError { try await d.deliver(rendered(channel: .sms, to: "+15005550005", body: "x")) }
        #expect(error?.isTransient == true)
        #expect(error?.code == "timeout")
        #expect(try await d.deliver(rendered(channel: .sms, to: "+15005550005", body: "x")).responseCode == "201")
    }

    @Test func cancellingTheTaskStopsATransferInProgress() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = driver(peer.port, timeout: .seconds(20))
        let task = Task { try await d.deliver(rendered(channel: .sms, to: "+15005550005", body: "x")) }  // the server takes 3 s
        // Cancel only once the request is at the server: the transfer is in progress.
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: peer.file("slow-started").path) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(FileManager.default.fileExists(atPath: peer.file("slow-started").path))
        task.cancel()
        let cancelledAt = ContinuousClock.now
        do {
            _ = try await task.value
            Issue.record("expected the transfer to stop")
        } catch let error as DeliveryError {
            #expect(error == .transient("SMS provider: transfer stopped at shutdown", code: "cancelled"))
        }
        // The provider's answer comes 3 s after the request: the transfer did not wait for it.
        #expect(ContinuousClock.now - cancelledAt < .milliseconds(2500))
        #expect(peer.requests().isEmpty)  // the peer logs a request when it answers: it had not answered yet
    }

    @Test func connectionRefusedIsTransient() async throws {
        let error = await deliveryError { try await driver(closedPort()).deliver(rendered(channel: .sms, to: "+15005550001", body: "x")) }
        #expect(error?.isTransient == true)
        #expect(error?.reason.contains("SMS provider:") == true)
    }

    @Test func unsubscribedRecipientIsReportedAsOptedOut() async throws {
        let peer = try await Peer.start("http_provider.py")
        let error = await deliveryError { try await driver(peer.port).deliver(rendered(channel: .sms, to: "+15005550006", body: "x")) }
        #expect(error == .optedOut("SMS provider answered 400, error 21610: Attempt to send to unsubscribed recipient" + TwilioDriver.carrierBlockAdvice, code: "21610"))
    }

    @Test func wrongCredentialsArePermanent() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = TwilioDriver(.init(baseURL: "http://127.0.0.1:\(peer.port)", accountSID: "ACtest", authToken: "nope", from: "+34911000000"))
        let error = await deliveryError { try await d.deliver(rendered(channel: .sms, to: "+15005550001", body: "x")) }
        #expect(error?.code == "20003")
        #expect(error?.isTransient == false)
    }

    @Test(arguments: ["600111222", "+0034600111222", "+34 600 111 222", "+34-600-111-222", "+3460", "+1234567890123456", "tel:+34600111222"])
    func invalidNumbersFailWithoutARequest(number: String) async throws {
        let peer = try await Peer.start("http_provider.py")
        let error = await deliveryError { try await driver(peer.port).deliver(rendered(channel: .sms, to: number, body: "x")) }
        #expect(error?.isTransient == false)
        #expect(error?.reason.contains("is not an E.164 phone number") == true)
        #expect(peer.requests().isEmpty)
    }

    @Test func theRateLimitSpacesRequests() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = driver(peer.port, rate: 10, concurrent: 8)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1...6 { group.addTask { _ = try await d.deliver(rendered(Int64(i), channel: .sms, to: "+1500555000\(i == 6 ? 7 : 1)", body: "x")) } }
            try await group.waitForAll()
        }
        // Six messages at 10/s: the last slot is 0.5 s after the first (a lower bound, whatever the machine's load).
        #expect(ContinuousClock.now - start >= .milliseconds(480))
        #expect(peer.requests().count == 6)
    }
}

@Suite struct RetryAfterTests {
    @Test func secondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_778_583_600)  // Tue, 12 May 2026 11:00:00 GMT
        #expect(retryAfter("120", now: now) == .seconds(120))
        #expect(retryAfter("Tue, 12 May 2026 11:00:30 GMT", now: now) == .seconds(30))
        #expect(retryAfter("Tue, 12 May 2026 10:00:00 GMT", now: now) == .zero)  // in the past: at once
        #expect(retryAfter("soon", now: now) == nil)
        #expect(retryAfter("-5", now: now) == nil)
        #expect(retryAfter(nil, now: now) == nil)
    }
}

@Suite(.serialized) struct WebhookDriverTests {
    func driver(_ peer: Peer, path: String = "/hook", secret: String = "hook-secret") -> WebhookDriver {
        WebhookDriver(.init(url: "http://127.0.0.1:\(peer.port)\(path)", secret: secret))
    }

    @Test func signatureIsVerifiedByAnIndependentImplementation() async throws {
        let peer = try await Peer.start("http_provider.py")
        let body = #"{"type": "work_order.ready", "text": "Listo ✅ \"ya\"", "data": {"n": 1}}"#
        let receipt = try await driver(peer).deliver(rendered(42, channel: .webhook, to: "ignored", body: body))
        #expect(receipt.responseCode == "200")
        let request = try #require(peer.requests().first)
        #expect(request["verified"] as? Bool == true)
        #expect(request["message_id"] as? String == "42")
        #expect(request["content_type"] as? String == "application/json; charset=utf-8")
        #expect((request["json"] as? [String: Any])?["text"] as? String == "Listo ✅ \"ya\"")
    }

    @Test func aWrongSecretIsRejectedByTheReceiver() async throws {
        let peer = try await Peer.start("http_provider.py")
        let error = await deliveryError { try await driver(peer, secret: "other").deliver(rendered(channel: .webhook, to: "x", body: "{}")) }
        #expect(error?.code == "401" && error?.isTransient == false)
        #expect(peer.requests().first?["verified"] as? Bool == false)
    }

    @Test func knownSignature() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac hook-secret
        let openssl = WebhookDriverTests.opensslHMAC()
        #expect(openssl.count == 64)
        #expect(WebhookDriver.signature(secret: "hook-secret", timestamp: 1_700_000_000, body: Data(#"{"a":1}"#.utf8)) == "v1=" + openssl)
    }

    static func opensslHMAC() -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf '%s' '1700000000.{\"a\":1}' | openssl dgst -sha256 -hmac hook-secret | awk '{print $NF}'"]
        let out = Pipe()
        p.standardOutput = out
        try? p.run()
        p.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func a503IsTransientWithRetryAfterAndA404Permanent() async throws {
        let peer = try await Peer.start("http_provider.py")
        let d = driver(peer, path: "/hook/500-once")
        let error = await deliveryError { try await d.deliver(rendered(7, channel: .webhook, to: "x", body: "{}")) }
        #expect(error?.isTransient == true && error?.code == "503")
        if case .transient(_, _, let after)? = error { #expect(after == .seconds(1)) }
        #expect(try await d.deliver(rendered(7, channel: .webhook, to: "x", body: "{}")).responseCode == "200")
        let missing = await deliveryError { try await driver(peer, path: "/hook/404").deliver(rendered(8, channel: .webhook, to: "x", body: "{}")) }
        #expect(missing?.isTransient == false && missing?.code == "404")
    }

    @Test func withoutAConfiguredURLTheRecipientMustBeHTTP() async throws {
        let d = WebhookDriver(.init(url: nil, secret: "s"))
        let error = await deliveryError { try await d.deliver(rendered(channel: .webhook, to: "ftp://x/y", body: "{}")) }
        #expect(error == .permanent("webhook URL \"ftp://x/y\" is not an http(s) URL"))
    }
}
