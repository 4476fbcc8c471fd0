import Foundation
import HeraldConfig
import Testing

/// Sender fields of the email drivers are checked when the configuration is loaded: a bad
/// one stops startup naming the key, instead of failing every email later (issue 23's review).
@Suite struct DriverConfigCheckTests {
    func load(_ channel: String) throws -> Void {
        _ = try ConfigurationLoader(environment: [:]).parse(channel, file: "h.toml")
    }

    @Test(arguments: [
        ("[channels.email]\ndriver = \"file\"\nfrom = \"Herald <herald@localhost>\"", "channels.email.from"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example\"\nfrom = \"a@b.example\"\nreply_to = \"not an address\"", "channels.email.reply_to"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example\"\nfrom = \"a@b.example\"\nreply_to = \"a@b.example\\r\\nBcc: x@y.example\"", "channels.email.reply_to"),
        ("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example\"\nfrom = \"a@b.example\"\nunsubscribe_url = \"https://u.example/x>\\r\\nBcc: y\"", "channels.email.unsubscribe_url"),
    ])
    func aBadSenderFieldStopsStartupNamingTheKey(_ text: String, _ key: String) {
        #expect { try load(text) } throws: { ($0 as? ConfigError)?.key == key }
    }

    @Test func goodSenderFieldsLoad() throws {
        try load("[channels.email]\ndriver = \"file\"\nfrom = \"Peluquería Sol <citas@sol.example>\"")
        try load("[channels.email]\ndriver = \"smtp\"\nurl = \"smtp://m.example\"\nfrom = \"a@b.example\"\nreply_to = \"Recepción <r@b.example>\"\nunsubscribe_url = \"mailto:baja@b.example\"")
    }
}
