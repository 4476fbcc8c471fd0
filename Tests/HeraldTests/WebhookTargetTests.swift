import Foundation
import HeraldConfig
import HeraldCore
import HeraldCurl
import HeraldDrivers
import Testing

/// A message's own webhook URL came from outside: it may not reach internal addresses.
@Suite struct WebhookTargetTests {
    func v4(_ text: String) -> UInt32 {
        text.split(separator: ".").reduce(0) { $0 << 8 | UInt32($1)! }
    }

    @Test(arguments: ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                      "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8"])
    func internalIPv4(address: String) { #expect(AddressPolicy.isInternal(ipv4: v4(address))) }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "192.169.0.1", "100.128.0.1", "169.255.0.1", "1.1.1.1", "203.0.113.7"])
    func publicIPv4(address: String) { #expect(!AddressPolicy.isInternal(ipv4: v4(address))) }

    @Test func ipv6() {
        func bytes(_ groups: [UInt16]) -> [UInt8] { groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }
        #expect(AddressPolicy.isInternal(ipv6: bytes([0, 0, 0, 0, 0, 0, 0, 1])))                       // ::1
        #expect(AddressPolicy.isInternal(ipv6: bytes([0, 0, 0, 0, 0, 0, 0, 0])))                       // ::
        #expect(AddressPolicy.isInternal(ipv6: bytes([0xFE80, 0, 0, 0, 1, 2, 3, 4])))                   // link-local
        #expect(AddressPolicy.isInternal(ipv6: bytes([0xFD12, 0x3456, 0, 0, 0, 0, 0, 1])))             // unique local
        #expect(AddressPolicy.isInternal(ipv6: bytes([0, 0, 0, 0, 0, 0xFFFF, 0xA9FE, 0xA9FE])))         // ::ffff:169.254.169.254
        #expect(AddressPolicy.isInternal(ipv6: bytes([0x64, 0xFF9B, 0, 0, 0, 0, 0x7F00, 1])))          // NAT64 of 127.0.0.1
        #expect(!AddressPolicy.isInternal(ipv6: bytes([0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888])))
        #expect(!AddressPolicy.isInternal(ipv6: bytes([0, 0, 0, 0, 0, 0xFFFF, 0x0808, 0x0808])))       // ::ffff:8.8.8.8
    }

    @Test func aMessagesOwnURLToALoopbackAddressIsRefusedWithoutARequest() async throws {
        let peer = try await Peer.start("http_provider.py")
        let driver = WebhookDriver(.init(secret: "hook-secret"))
        for url in ["http://127.0.0.1:\(peer.port)/hook", "http://localhost:\(peer.port)/hook", "http://[::1]:\(peer.port)/hook"] {
            let error = await deliveryError { try await driver.deliver(rendered(3, channel: .webhook, to: url, body: "{}")) }
            #expect(error?.isTransient == false && error?.code == "refused-address", "\(url): \(String(describing: error))")
            #expect(error?.reason.contains("a loopback, private or link-local address; refused (set [channels.webhook] allow_private_addresses = true to allow it)") == true,
                    "\(String(describing: error))")
        }
        #expect(peer.requests().isEmpty)
        // Allowed by the operator: delivered.
        let allowed = WebhookDriver(.init(secret: "hook-secret", allowPrivateAddresses: true))
        #expect(try await allowed.deliver(rendered(3, channel: .webhook, to: "http://127.0.0.1:\(peer.port)/hook", body: "{}")).responseCode == "200")
        // A configured URL is trusted as written.
        let configured = WebhookDriver(.init(url: "http://127.0.0.1:\(peer.port)/hook", secret: "hook-secret"))
        #expect(try await configured.deliver(rendered(4, channel: .webhook, to: "ignored", body: "{}")).responseCode == "200")
        #expect(peer.requests().count == 2)
    }

    @Test func theConfigurationKeyIsRead() throws {
        let dir = try temporaryDirectory()
        try "s".write(to: dir.appendingPathComponent("secret"), atomically: true, encoding: .utf8)
        let path = try writeConfig("""
            [channels.webhook]
            driver = "webhook"
            secret_file = "\(dir.appendingPathComponent("secret").path)"
            allow_private_addresses = true
            """)
        let config = try ConfigurationLoader(environment: [:]).load(path: path)
        guard let settings = config.channels[.webhook]?.settings(as: WebhookDriver.Settings.self) else { Issue.record("no webhook driver"); return }
        #expect(settings.allowPrivateAddresses)
    }
}
