import Foundation
import HeraldCore
@testable import HeraldOutbox
import HeraldPostgres
import Testing

/// The claim statement's rate limits per sender, its fair shares between locations and
/// its priority under limits (issue 26), against a real PostgreSQL.
@Suite struct SenderLimitTests {
    func store(_ db: TestDatabase, worker: String = "w") async throws -> MessageStore {
        MessageStore(connection: try await db.connect(), workerID: worker)
    }

    /// `count` due SMS from `sender` for `location`, `priority`, due `age` seconds ago.
    func add(_ db: TestDatabase, count: Int, sender: String?, location: String? = nil, priority: Int = 0, age: Double = 60,
             template: String = "t") async throws {
        try await db.query("""
            INSERT INTO herald.message (channel, recipient, template, sender, location_id, priority, send_at)
            SELECT 'sms', '+3460000' || lpad(g::text, 4, '0'), $5, $1, $2, $3::smallint, now() - $6::float8 * interval '1 second'
              FROM generate_series(1, $4::int) g
            """, [sender, location, priority, count, template, age])
    }

    static let perSender20 = ClaimLimits(["sms": SenderLimits(perSender: Pace(perSecond: 20))])

    func claim(_ s: MessageStore, limit: Int = 50, _ limits: ClaimLimits = perSender20) async throws -> [OutboxMessage] {
        try await s.claim(channels: ["sms"], limit: limit, lease: .seconds(60), limits: limits)
    }

    /// Waits until every limited sender's first token has come (a new sender's row is made
    /// by a claim, its tokens 20 ms later).
    func prime(_ s: MessageStore, _ limits: ClaimLimits = perSender20) async throws {
        _ = try await claim(s, limits)
        try await Task.sleep(for: .milliseconds(60))
    }

    @Test func aSenderWithoutTokensIsNotClaimedAndTheNextClaimResumesIt() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 5, sender: "+34911000001")
            try await add(db, count: 5, sender: "+34911000002")
            let limits = ClaimLimits(["sms": SenderLimits(perSender: Pace(perSecond: 1))])
            let s = try await store(db)
            #expect(try await claim(s, limits).isEmpty, "a sender seen for the first time gets its tokens 20 ms later")
            #expect(try await db.scalar("SELECT count(*) FROM herald.sender_pace WHERE channel = 'sms'") == "2")
            try await Task.sleep(for: .milliseconds(60))
            let first = try await claim(s, limits)
            #expect(first.compactMap(\.sender).sorted() == ["+34911000001", "+34911000002"], "one each: burst 1")
            #expect(try await claim(s, limits).isEmpty, "no tokens left: nothing claimed, no lease taken")
            #expect(try await db.statusCounts() == ["sending": 2, "pending": 8])
            // The next token is 1.05 s later (1 a second, and the margin; slow enough that a
            // loaded machine cannot cross it between two claims): the loop is told when.
            let wait = try #require(try await s.secondsUntilNextDue(channels: ["sms"]))
            #expect(wait > 0 && wait <= 1.05, "\(wait)")
            try await Task.sleep(for: .milliseconds(1_100))
            #expect(try await claim(s, limits).count == 2)
        }
    }

    @Test func aBurstGoesAtOnceAndThenOneAStep() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 10, sender: "+34911000001")
            // 1 a second: the empty claim must come within a step of the burst, and the one
            // after the sleep before the second step (about 1 s to spare on a loaded machine;
            // 4 a second left 224 ms for two round trips and failed under load).
            let limits = ClaimLimits(["sms": SenderLimits(perSender: Pace(perSecond: 1, burst: 3))])
            let s = try await store(db)
            try await prime(s, limits)
            #expect(try await claim(s, limits).count == 3)
            #expect(try await claim(s, limits).isEmpty)
            try await Task.sleep(for: .milliseconds(1_100))
            #expect(try await claim(s, limits).count == 1)
        }
    }

    @Test func aNamedSenderHasItsOwnRateAndTheChannelsOwnSenderIsNamedByItsNumber() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 10, sender: "+34911000001")
            try await add(db, count: 10, sender: nil)  // the channel's own from
            let limits = ClaimLimits(["sms": SenderLimits(
                perSender: Pace(perSecond: 1), senders: ["+34911000001": Pace(perSecond: 10, burst: 4)!, "+34600999999": Pace(perSecond: 10, burst: 2)!],
                defaultSender: "+34600999999")])
            let s = try await store(db)
            try await prime(s, limits)
            let got = try await claim(s, limits)
            #expect(got.filter { $0.sender == "+34911000001" }.count == 4)
            #expect(got.filter { $0.sender == nil }.count == 2)
        }
    }

    @Test func anUrgentMessageIsItsSendersNextNotBehindItsDueReminders() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 20, sender: "+34911000001", location: "centro", age: 600, template: "appointment.reminder")
            let s = try await store(db)
            try await prime(s)
            #expect(try await claim(s).map(\.template) == ["appointment.reminder"])
            try await add(db, count: 1, sender: "+34911000001", location: "centro", priority: 3, age: 0, template: "appointment.cancelled")
            try await Task.sleep(for: .milliseconds(60))
            #expect(try await claim(s).map(\.template) == ["appointment.cancelled"], "the sender's next slot")
        }
    }

    @Test func aLocationsBurstDelaysAnotherLocationByOneClaimRoundAtMost() async throws {
        try await TestDatabase.with { db in
            // The big location's messages are older: by due time alone they would all go first.
            try await add(db, count: 500, sender: nil, location: "big", age: 3600)
            for n in 1...20 { try await add(db, count: 1, sender: nil, location: "small-\(n)", age: 1) }
            let s = try await store(db)
            let first = try await claim(s, limit: 20, ClaimLimits())
            let second = try await claim(s, limit: 20, ClaimLimits())
            let small = (first + second).filter { $0.schedule.locationID?.hasPrefix("small-") == true }
            #expect(first.count == 20 && second.count >= 1)
            #expect(small.count == 20, "every small location within two rounds: \(small.count)")
            #expect(first.filter { $0.schedule.locationID == "big" }.count <= 1)
        }
    }

    @Test func aSenderSharedByLocationsSpendsItsTokensOnce() async throws {
        try await TestDatabase.with { db in
            // One number for five locations: five queues, one sender, one burst.
            for n in 1...5 { try await add(db, count: 4, sender: "+34911000001", location: "loc-\(n)") }
            let limits = ClaimLimits(["sms": SenderLimits(perSender: Pace(perSecond: 1, burst: 2))])
            let s = try await store(db)
            try await prime(s, limits)
            let got = try await claim(s, limits)
            #expect(got.count == 2, "the sender's burst, not one per location: \(got.count)")
            #expect(Set(got.compactMap(\.schedule.locationID)).count == 2, "shared fairly between its locations")
            #expect(try await claim(s, limits).isEmpty)
        }
    }

    @Test func aChannelCeilingHoldsAllSendersTogether() async throws {
        try await TestDatabase.with { db in
            for n in 1...5 { try await add(db, count: 5, sender: "+3491100000\(n)") }
            // One a second: the second claim finds no token even on a loaded machine (at 4 a
            // second a fresh-clone run once took more than a step between the two claims).
            let limits = ClaimLimits(["sms": SenderLimits(ceiling: Pace(perSecond: 1, burst: 3))])
            let s = try await store(db)
            try await prime(s, limits)
            let got = try await claim(s, limits)
            #expect(got.count == 3)
            #expect(Set(got.compactMap(\.sender)).count == 3, "the ceiling's tokens are shared fairly: \(got.compactMap(\.sender))")
            #expect(try await claim(s, limits).isEmpty)
        }
    }

    @Test func aThrottledSenderIsHeldBackAloneUntilItsPauseEnds() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 3, sender: "+34911000001")
            try await add(db, count: 3, sender: "+34911000002")
            let s = try await store(db)
            let one = try #require(try await db.scalar("SELECT min(id) FROM herald.message WHERE sender = '+34911000001'").flatMap { Int64($0) })
            // A pause of 1.5 s: long enough that a loaded machine's claim and look (a fresh-clone
            // run once took over 200 ms between them at 300 ms) still see it running.
            try await s.pauseSender(ofMessage: one, for: .milliseconds(1500), reason: "429")
            let got = try await claim(s, ClaimLimits())
            #expect(Set(got.compactMap(\.sender)) == ["+34911000002"], "an unlimited sender paused by a 429 waits too")
            let wait = try #require(try await s.secondsUntilNextDue(channels: ["sms"]))
            #expect(wait > 0.5 && wait <= 1.51, "\(wait)")
            try await Task.sleep(for: .milliseconds(1550))
            #expect(try await claim(s, ClaimLimits()).count == 1, "for a minute after the pause: one per pause")
            #expect(try await claim(s, ClaimLimits()).isEmpty)
            try await Task.sleep(for: .milliseconds(1550))
            #expect(try await claim(s, ClaimLimits()).count == 1)
        }
    }

    @Test func concurrentClaimsNeverSpendMoreThanTheSendersTokens() async throws {
        try await TestDatabase.with { db in
            try await add(db, count: 200, sender: "+34911000001")
            // One token every 10 s after the burst: a claim held back by a loaded machine
            // cannot earn one, so any sixth message would be a token spent twice.
            let limits = ClaimLimits(["sms": SenderLimits(perSender: Pace(perSecond: 0.1, burst: 5))])
            var stores: [MessageStore] = []
            for n in 0..<6 { stores.append(try await store(db, worker: "w\(n)")) }
            try await prime(stores[0], limits)
            // Line the six claims up: a table lock holds them all before they read the
            // sender's row, then lets them go at once.
            let blocker = try await db.connect()
            try await blocker.execute("BEGIN")
            try await blocker.execute("LOCK TABLE herald.sender_pace IN EXCLUSIVE MODE")
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for s in stores { group.addTask { try await claim(s, limits).count } }
                try await Task.sleep(for: .milliseconds(300))
                try await blocker.execute("COMMIT")
                return try await group.reduce(0, +)
            }
            await blocker.close()
            #expect(counts == 5, "six daemons at once take the burst of five once: \(counts)")
        }
    }

    @Test func theSenderKeyIsTheSameInSwiftAndSQL() async throws {
        try await TestDatabase.with { db in
            let samples: [(String, String?)] = [
                ("sms", nil), ("sms", "+34911234567"), ("sms", "MG0123456789abcdef"), ("email", nil), ("email", "citas@Clinica.Example"),
                ("email", "Clínica Sol <citas@sol.example>"), ("email", "Sol <citas@sol.example>  "), ("email", "no-at-sign"),
                ("email", "a@b c"), ("email", "x@y@Z.example"), ("email", "a@"), ("webhook", "https://h.example/x"),
            ]
            for (channel, sender) in samples {
                let sql = try await db.scalar("SELECT herald.sender_key($1, $2)", [channel, sender])
                #expect(sql == SenderLimits.key(channel: channel, sender: sender), "\(channel) \(sender ?? "nil")")
            }
        }
    }
}
