import Foundation
import Testing

/// The real `herald` binary with its listener on, killed with SIGKILL in the middle of a
/// burst of replies: every request that got a 2xx is in `herald.inbound`.
@Suite struct ListenerCrashTests {
    @Test func killNineDuringABurstKeepsEveryAcknowledgedReply() async throws {
        try await CPUGate.run { try await TestDatabase.with { db in
            let out = try temporaryDirectory()
            let tokenFile = out.appendingPathComponent("twilio-token")
            try "12345\n".write(to: tokenFile, atomically: true, encoding: .utf8)
            let path = try DaemonTests().config(db, out: out, extra: """
                [http]
                listen = "127.0.0.1:0"
                public_url = "https://herald.example.com/hooks"
                twilio_auth_token_file = "\(tokenFile.path)"
                """)
            let herald = try HeraldProcess(["run", "--config", path])
            let port = await herald.port(\.listenerPort)
            let peer = TwilioPeer(port: try #require(port, "stderr: \(herald.stderr)"))
            let requests = (0..<1000).map { TwilioPeer.sms("SMK\($0)", from: "+3461000\(String(format: "%04d", $0))", "reply \($0)") }
            let burst = Task { try await peer.send(requests, concurrency: 32, timeout: 5) }
            #expect(try await db.waitUntil { Int(try await db.scalar("SELECT count(*) FROM herald.inbound") ?? "0") ?? 0 >= 150 })
            herald.signal(SIGKILL)
            _ = await herald.wait(timeout: .seconds(5))
            let replies = try await burst.value
            let acknowledged = Set(zip(requests, replies).filter { $0.1.status == 200 }.compactMap { $0.0.params["MessageSid"] })
            let stored = Set(try await db.query("SELECT provider_id FROM herald.inbound").rows.compactMap { $0[0] })
            #expect(acknowledged.count >= 100)
            #expect(acknowledged.subtracting(stored).isEmpty, "acknowledged but lost: \(acknowledged.subtracting(stored).sorted().prefix(5))")
            #expect(replies.contains { $0.status != 200 }, "the kill landed after the burst; nothing was tested")
        } }
    }
}
