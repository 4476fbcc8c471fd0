import HeraldCore
import Testing

@Suite struct BackoffTests {
    let backoff = Backoff(base: .seconds(30), cap: .seconds(3600))

    @Test(arguments: [(1, 30.0), (2, 60.0), (3, 120.0), (4, 240.0), (7, 1920.0), (8, 3600.0), (20, 3600.0), (200, 3600.0)])
    func ceilingGrowsExponentiallyUpToTheCap(attempt: Int, expected: Double) {
        #expect(backoff.ceiling(afterAttempt: attempt).seconds == expected)
    }

    @Test func withoutJitterTheDelayIsTheCeiling() {
        let exact = Backoff(base: .milliseconds(100), cap: .seconds(1), jitter: false)
        let delays = (1...6).map { exact.delay(afterAttempt: $0) { 0.0 }.seconds }
        #expect(delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    }

    @Test func jitterIsUniformBetweenHalfTheCeilingAndTheCeiling() {
        #expect(backoff.delay(afterAttempt: 3) { 0 }.seconds == 60)
        #expect(backoff.delay(afterAttempt: 3) { 1 }.seconds == 120)
        #expect(backoff.delay(afterAttempt: 3) { 0.5 }.seconds == 90)
        for attempt in 1...30 {
            let d = backoff.delay(afterAttempt: attempt).seconds
            let ceiling = backoff.ceiling(afterAttempt: attempt).seconds
            #expect(d >= ceiling / 2 && d <= ceiling)
        }
    }

    @Test func attemptsAlwaysSpanAtLeastHalfTheSchedule() {
        // The drill's settings: base 1s, cap 20s, 10 attempts. Whatever the random draws, the 9 waits
        // between them add up to more than 30 s, so a 30-second provider outage cannot use them up.
        let drill = Backoff(base: .seconds(1), cap: .seconds(20))
        let shortest = (1...9).map { drill.delay(afterAttempt: $0) { 0 }.seconds }.reduce(0, +)
        #expect(shortest == 55.5)
    }

    @Test func outOfRangeRandomIsClamped() {
        #expect(backoff.delay(afterAttempt: 1) { 7 }.seconds == 30)
        #expect(backoff.delay(afterAttempt: 1) { -1 }.seconds == 15)
    }

    @Test func retryAfterIsAFloor() {
        #expect(backoff.delay(afterAttempt: 1, retryAfter: .seconds(90)) { 0.5 }.seconds == 90)
        #expect(backoff.delay(afterAttempt: 5, retryAfter: .seconds(2)) { 1 }.seconds == 480)
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), ("2d", 172_800.0),
        ("45", 45.0), ("1.5", 1.5), ("0.5s", 0.5), (" 10s ", 10.0), ("2min", 120.0),
    ])
    func parses(text: String, seconds: Double) {
        #expect(DurationText.parse(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "s", "10x", "-5s", "1h-", "ten seconds", "5 m", "1e400"])
    func rejects(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func formatsInLargestUnits() {
        #expect(DurationText.format(.seconds(5400)) == "1h30m")
        #expect(DurationText.format(.milliseconds(250)) == "250ms")
        #expect(DurationText.format(.zero) == "0s")
        #expect(DurationText.format(.seconds(90_061)) == "1d1h1m1s")
    }
}
