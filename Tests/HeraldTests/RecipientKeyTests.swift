import Foundation
@testable import HeraldCore
import HeraldDrivers
import HeraldInbound
import HeraldOutbox
import HeraldPostgres
import Testing

/// Issue 28: one normalisation of recipients, in SQL, in Swift and in what the drivers send
/// to, that trims every Unicode White_Space character and ignores U+200B, U+FEFF and U+2060:
/// an address pasted with a no-break space is the address that opted out.
@Suite struct RecipientKeyTests {
    /// Every character the normalisation ignores, by code point.
    static let ignored: [Unicode.Scalar] = (RecipientKey.whiteSpace.union(RecipientKey.invisible)).sorted { $0.value < $1.value }

    /// The written forms of one address on each channel, with the character before, after and (for
    /// phones, and for the invisible ones) inside.
    static func forms(_ c: Unicode.Scalar) -> [(Channel, String, String)] {
        let s = String(c)
        var out: [(Channel, String, String)] = [
            (.email, "ana@example.com" + s, "ana@example.com"), (.email, s + "ANA@Example.com" + s + s, "ana@example.com"),
            (.email, "Ana <ana@example.com" + s + ">" + s, "ana@example.com"),
            (.sms, "+34 600" + s + "111 222" + s, "+34600111222"), (.sms, s + "0034600111222", "+34600111222"),
            (.webhook, s + "https://hooks.example/x" + s, "https://hooks.example/x"),
            (.whatsapp, s + "whatsapp:+34 600" + s + "111 222" + s, "+34600111222"), (.whatsapp, "WhatsApp:0034600111222" + s, "+34600111222"),
            (.whatsapp, s + "+34 600 111 222", "+34600111222"), (.whatsapp, "whatsapp:ana" + s, "whatsapp:ana"),
        ]
        if RecipientKey.invisible.contains(c) { out.append((.email, "ana@exam" + s + "ple.com", "ana@example.com")) }
        return out
    }

    @Test func swiftAndSQLGiveTheSameKeyForEveryIgnoredCharacter() async throws {
        #expect(Self.ignored.count == 28)
        try await TestDatabase.with { db in
            var inputs: [(Channel, String, String)] = []
            for c in Self.ignored { inputs += Self.forms(c) }
            let keys = try await db.query("""
                SELECT herald.normalize_recipient(c, r) AS key FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(c, r, n) ORDER BY n
                """, [PostgresArray(inputs.map(\.0.rawValue)), PostgresArray(inputs.map(\.1))]).named.map { $0["key"] }
            for ((channel, written, key), sql) in zip(inputs, keys) {
                let scalars = written.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
                #expect(RecipientKey.normalize(written, channel: channel) == key, "Swift, \(channel): \(scalars)")
                #expect(sql == key, "SQL, \(channel): \(scalars)")
            }
        }
    }

    /// What a driver sends to is the text the key was taken from.
    @Test func driversSendToTheAddressTheKeyWasTakenFrom() throws {
        for c in Self.ignored {
            for (channel, written, key) in Self.forms(c) {
                let address = RecipientKey.deliveryAddress(written, channel: channel)
                #expect(RecipientKey.normalize(address, channel: channel) == key)
                if channel == .email {
                    let mailbox = try Recipients.mailbox(address).get()
                    #expect(mailbox.address.lowercased() == key, "U+\(String(c.value, radix: 16))")
                }
                if channel == .sms || (channel == .whatsapp && key.hasPrefix("+")) { #expect(Recipients.validatePhone(address) == nil && address == key) }
            }
        }
    }

    /// An opt-out of the plain address stops messages written with a space; an opt-out
    /// stored from a link whose address had one stops the plain address; case does not matter.
    @Test(arguments: ["\u{00A0}", "\u{202F}", "\u{3000}", "\u{200B}", "\u{FEFF}", "\u{2060}", "\u{2007}", "\u{0085}"])
    func anOptOutHoldsWhateverSpaceTheAddressCarries(_ space: String) async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(channel: "email")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('email', 'ana@example.com')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('email', $1, 't')", ["ANA@example.com" + space])
            try await db.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('email', $1)", ["Luis@Example.com" + space])
            #expect(try await db.scalar("SELECT recipient FROM herald.opt_out WHERE recipient LIKE 'luis%'") == "luis@example.com")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('email', 'luis@example.com', 't')")
            #expect(try await db.query("SELECT status FROM herald.message ORDER BY id").rows == [["suppressed"], ["suppressed"]])
            // The unsubscribe link signs the same key.
            let links = UnsubscribeLinks(publicURL: "https://h.example", key: Array(repeating: 7, count: 32))
            let token = try #require(links.url(messageID: 1, channel: .email, recipient: "Eva@Example.com" + space).split(separator: "/").last)
            #expect(UnsubscribeToken.verify(String(token), key: links.key)?.recipient == "eva@example.com")
        }
    }

    /// Migration 015 re-keys opt-outs stored by earlier versions with a Unicode space.
    @Test func theMigrationReKeysOptOutsStoredWithASpace() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let conn = try await db.connect()
            _ = try await Migrator(connection: conn, migrations: Migration.all.filter { $0.version <= 14 }).migrate()
            try await conn.query("INSERT INTO herald.opt_out (channel, recipient, created_at) VALUES ('email', $1, now() - interval '1 day')",
                                 ["ana@example.com\u{00A0}"])
            try await conn.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('email', $1)", ["\u{3000}ana@example.com"])
            try await conn.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('sms', $1)", ["+34 600\u{202F}111 222"])
            #expect(try await conn.query("SELECT count(*) FROM herald.opt_out").scalar == "3")
            _ = try await Migrator(connection: conn).migrate()
            let rows = try await conn.query("SELECT channel, recipient FROM herald.opt_out ORDER BY channel").rows
            #expect(rows == [["email", "ana@example.com"], ["sms", "+34600111222"]])
            await conn.close()
        }
    }
}

/// The phone parser's fast path (a number already in E.164, as most stored numbers are)
/// answers what the scalar-by-scalar parser does, for every form near that one.
@Suite struct PhoneFastPathTests {
    /// Numbers of 5 to 17 digits, with every kind of character in front, inside and after.
    static var inputs: [String] {
        var out: [String] = []
        let fronts = ["+", "00", "", "0", "+0", "++", "＋", " +", "+ "]
        let insides = ["", " ", "-", "٣", "a", "\u{00A0}", "\u{200B}", "(", "."]
        for length in 5...17 {
            let digits = String((0..<length).map { Character(String(($0 * 7 + 3) % 10)) })
            for front in fronts {
                for inside in insides {
                    out.append(front + digits + inside)
                    out.append(front + inside + digits)
                    let middle = digits.index(digits.startIndex, offsetBy: length / 2)
                    out.append(front + digits[..<middle] + inside + digits[middle...])
                }
            }
        }
        return out + ["", "+", "+1", "+12345678901234567890", "+34600000000\n", "+3460000000é"]
    }

    @Test func theFastPathAgreesWithTheParserOnEveryNearbyForm() {
        var fast = 0
        for input in Self.inputs {
            #expect(RecipientKey.phone(input) == RecipientKey.parsedPhone(input), "\(input.debugDescription)")
            if RecipientKey.isE164(input) {
                fast += 1
                #expect(RecipientKey.parsedPhone(input) == input, "\(input.debugDescription)")
            }
        }
        #expect(fast >= 9)  // lengths 7 to 15 written plainly take the fast path
        #expect(RecipientKey.isE164("+34600000000") && !RecipientKey.isE164("+034600000000") && !RecipientKey.isE164("+346000"))
        #expect(RecipientKey.isE164("+3460000000") && !RecipientKey.isE164("+1234567890123456") && RecipientKey.isE164("+123456789012345"))
    }
}
