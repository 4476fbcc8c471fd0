import Foundation
import HeraldCore
import HeraldOutbox
import HeraldPostgres
import Testing

/// Consent in the database: one normal form for recipients, the ledger of every change,
/// and opt-outs enforced on insert, on retry and at claim.
@Suite struct ConsentTests {
    /// The SQL function and the Swift one agree on generated text.
    @Test func sqlAndSwiftNormaliseRecipientsAlike() async throws {
        try await TestDatabase.with { db in
            let pieces = ["+", "00", "0", "34", "600", "1", "9", " ", "-", ".", "(", ")", "/", "\t", "\n", "a", "Z", "é", "Á",
                          "@", "<", ">", "ana", "Ana López ", "example.ES", "🙂", "\r"]
            var generator = SystemRandomNumberGenerator()
            var inputs: [(Channel, String)] = []
            for i in 0..<600 {
                let text = (0..<Int.random(in: 0...9, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
                inputs.append((Channel.allCases[i % 3], text))
            }
            inputs += [(.sms, "+34 600 11 22 33"), (.email, "Ana López <Ana@Example.ES>"), (.email, "a <b> <C>  ")]
            let result = try await db.query("""
                SELECT herald.normalize_recipient(c, r) AS key FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(c, r, n) ORDER BY n
                """, [PostgresArray(inputs.map(\.0.rawValue)), PostgresArray(inputs.map(\.1))])
            #expect(result.rows.count == inputs.count)
            for ((channel, text), row) in zip(inputs, result.named) {
                #expect(row["key"] == RecipientKey.normalize(text, channel: channel), "\(channel) \(text.debugDescription)")
            }
        }
    }

    @Test func anOptOutCoversEveryWrittenFormOfTheAddress() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate(channel: "email")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('email', 'Ana López <Ana@Example.es>', 't')")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('email', ' ANA@example.ES ', 'host')")
            #expect(try await db.scalar("SELECT recipient FROM herald.opt_out") == "ana@example.es", "stored normalised")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 1") == "suppressed", "a pending one in another form")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('email', 'Ana@Example.es', 't')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 2") == "suppressed", "a new one in another form")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('sms', '0034 600-11-22-33')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34600112233', 't')")
            #expect(try await db.scalar("SELECT status FROM herald.message WHERE id = 3") == "suppressed")
        }
    }

    @Test func everyConsentChangeIsInTheLedgerWhichCannotBeRewritten() async throws {
        try await TestDatabase.with { db in
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason, source) VALUES ('sms', '+34 600 000 001', 'told the desk', 'host')")
            try await db.execute("BEGIN; SET LOCAL herald.consent_source = 'keyword'; SET LOCAL herald.consent_reason = 'replied START'; DELETE FROM herald.opt_out; COMMIT")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000001', 'provider')")
            try await db.query("DELETE FROM herald.opt_out")
            let events = try await db.query("SELECT recipient, action, source, coalesce(reason, '-') AS reason FROM herald.consent_event ORDER BY id").named
            #expect(events.map { [$0["recipient"], $0["action"], $0["source"], $0["reason"]] } == [
                ["+34600000001", "opt_out", "host", "told the desk"], ["+34600000001", "opt_in", "keyword", "replied START"],
                ["+34600000001", "opt_out", "provider", "-"], ["+34600000001", "opt_in", "host", "-"],
            ])
            await #expect(throws: (any Error).self) { try await db.execute("UPDATE herald.consent_event SET source = 'x'") }
            await #expect(throws: (any Error).self) { try await db.execute("DELETE FROM herald.consent_event") }
            #expect(try await db.scalar("SELECT count(*) FROM herald.consent_event") == "4")
        }
    }

    @Test func retryRefusesAnOptedOutRecipientUntilTheyOptBackIn() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600000001', 'replied STOP')")
            try await db.query("INSERT INTO herald.message (channel, recipient, template) VALUES ('sms', '+34 600 000 001', 't')")
            #expect(try await db.scalar("SELECT status FROM herald.message") == "suppressed")
            do {
                try await db.execute("SELECT herald.retry(1)")
                Issue.record("herald.retry made a message to an opted-out recipient due again")
            } catch {
                #expect("\(error)".contains("who opted out of sms (replied STOP)"), "\(error)")
            }
            #expect(try await db.scalar("SELECT status FROM herald.message") == "suppressed")
            try await db.query("DELETE FROM herald.opt_out")
            #expect(try await db.scalar("SELECT herald.retry(1)") == "message 1: suppressed -> pending")
        }
    }

    @Test func aMessageMadePendingAgainForAnOptedOutRecipientIsSuppressedAtClaim() async throws {
        try await TestDatabase.with { db in
            try await db.addTemplate()
            try await db.enqueue(count: 3)
            // Message 2's recipient opts out while it is being sent; the attempt fails and is
            // to be retried: it is pending again, and the claim must not send it.
            let conn = try await db.connect()
            let store = Stores(connection: conn, workerID: "w")
            let first = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(30))
            #expect(first.count == 3)
            try await db.query("INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34 600 000 002', 'replied STOP')")
            try await db.execute("UPDATE herald.message SET status = 'pending', locked_by = NULL, locked_until = NULL")
            let again = try await store.messages.claim(channels: ["sms"], limit: 10, lease: .seconds(30))
            #expect(again.map(\.id).sorted() == [1, 3])
            let row = try #require(try await db.query("SELECT status, attempts, last_error FROM herald.message WHERE id = 2").named.first)
            #expect(row["status"] == "suppressed" && row["attempts"] == "1")
            #expect(row["last_error"] == "recipient opted out of sms: replied STOP")
            await conn.close()
        }
    }
}

/// Issue 28: the ledger says who (the login, not the functions' owner), and only Herald's
/// own login may claim that a client asked (keyword, unsubscribe link, provider, complaint).
@Suite struct ConsentProvenanceTests {
    static let hostLogin = TestServer.hostRole

    /// This database as a login that is a member of `herald_host` only.
    func hostURL(_ db: TestDatabase) async throws -> String {
        var components = try #require(URLComponents(string: db.url))
        components.user = Self.hostLogin
        return try #require(components.string)
    }

    func run(_ url: String, _ sql: String) async throws -> String? {
        let conn = PostgresConnection(connectionString: url)
        try await conn.connect()
        defer { Task { await conn.close() } }
        do {
            try await conn.execute(sql)
            return nil
        } catch let error as PostgresError {
            return error.sqlState
        }
    }

    @Test func theLedgerRecordsTheLoginThatChangedConsent() async throws {
        try await TestDatabase.with { db in
            let host = try await hostURL(db)
            #expect(try await run(host, "INSERT INTO herald.opt_out (channel, recipient, reason) VALUES ('sms', '+34600000009', 'told the desk')") == nil)
            #expect(try await run(host, "DELETE FROM herald.opt_out") == nil)
            #expect(try await run(db.daemonURL, "INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000009', 'keyword')") == nil)
            let rows = try await db.query("SELECT action, source, recorded_by FROM herald.consent_event ORDER BY id").rows
            #expect(rows == [["opt_out", "host", Self.hostLogin], ["opt_in", "host", Self.hostLogin],
                             ["opt_out", "keyword", TestServer.daemonRole]])
        }
    }

    @Test(arguments: ["keyword", "unsubscribe", "provider", "complaint"])
    func aHostCannotClaimThatTheClientAsked(_ source: String) async throws {
        try await TestDatabase.with { db in
            let host = try await hostURL(db)
            #expect(try await run(host, "INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000008', '\(source)')") == "42501")
            #expect(try await run(host, "INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000008', 'desk')") == nil)
            #expect(try await run(host, "BEGIN; SET LOCAL herald.consent_source = '\(source)'; DELETE FROM herald.opt_out; COMMIT") == "42501")
            #expect(try await db.scalar("SELECT count(*) FROM herald.opt_out") == "1", "the refused opt-in changed nothing")
            #expect(try await run(db.daemonURL, "BEGIN; SET LOCAL herald.consent_source = '\(source)'; DELETE FROM herald.opt_out; COMMIT") == nil)
            let sources = try await db.query("SELECT action, source FROM herald.consent_event ORDER BY id").rows
            #expect(sources == [["opt_out", "desk"], ["opt_in", source]])
            // Written otherwise, it is still refused.
            #expect(try await run(host, "INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000008', ' \(source.uppercased()) ')") == "42501")
        }
    }

    /// The check cannot be fooled by a function of the host's own found first on its
    /// search_path, and opt-outs are not moved or truncated behind the ledger's back.
    @Test func theSourceCheckHoldsAgainstSearchPathTricksAndOptOutsAreNotRewritten() async throws {
        try await TestDatabase.with { db in
            let host = try await hostURL(db)
            try await db.execute("CREATE SCHEMA IF NOT EXISTS hostapp AUTHORIZATION \(Self.hostLogin)")
            #expect(try await run(host, """
                CREATE FUNCTION hostapp.pg_has_role(name, name, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
                CREATE FUNCTION hostapp.lower(text) RETURNS text LANGUAGE sql AS 'SELECT ''x''';
                """) == nil)
            #expect(try await run(host, """
                SET search_path = hostapp, pg_catalog, herald;
                INSERT INTO herald.opt_out (channel, recipient, source) VALUES ('sms', '+34600000006', 'keyword');
                """) == "42501")
            try await db.query("INSERT INTO herald.opt_out (channel, recipient) VALUES ('sms', '+34600000006')")
            #expect(try await run(db.url, "UPDATE herald.opt_out SET recipient = '+34600000007'") == "42501")
            #expect(try await run(db.url, "TRUNCATE herald.opt_out") == "42501")
            #expect(try await run(db.url, "UPDATE herald.opt_out SET reason = 'told us twice'") == nil, "the reason may be edited")
            #expect(try await db.scalar("SELECT recipient FROM herald.opt_out") == "+34600000006")
        }
    }
}
