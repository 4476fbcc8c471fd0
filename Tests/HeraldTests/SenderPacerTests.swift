import HeraldCore
@testable import HeraldDrivers
import Testing

/// The daemon's own pacing per sender (issue 26): requests reach the provider spaced by the
/// sender's pace as they really leave, not only as they were scheduled.
@Suite struct SenderPacerTests {
    /// The first request's last look took 40 ms past its slot; the second one's slot would be
    /// 50 ms after the first's, but it must not leave until 50 ms after the first really
    /// left (counted from the slots alone the two left 10 ms apart: a 429 from a provider
    /// that counts arrivals).
    @Test func aRequestThatLeftItsSlotLatePushesTheNextOneBack() async throws {
        let pacer = SenderPacer(limits: SenderLimits(perSender: Pace(perSecond: 20)))
        let clock = ContinuousClock()
        try await pacer.acquire(key: "+34911000001")
        try await Task.sleep(for: .milliseconds(40))
        await pacer.dispatched(key: "+34911000001")
        let first = clock.now
        try await pacer.acquire(key: "+34911000001")
        await pacer.dispatched(key: "+34911000001")
        let gap = clock.now - first
        #expect(gap >= .milliseconds(49), "\(gap)")
    }

    /// Another sender's lateness is not this one's; a burst still goes at once; an
    /// unlimited sender never waits.
    @Test func eachSenderIsPacedAloneAndABurstGoesAtOnce() async throws {
        let pacer = SenderPacer(limits: SenderLimits(perSender: Pace(perSecond: 1, burst: 2)))
        let clock = ContinuousClock()
        let start = clock.now
        for key in ["+34911000001", "+34911000001", "+34911000002"] {
            try await pacer.acquire(key: key)
            await pacer.dispatched(key: key)
        }
        #expect(clock.now - start < .milliseconds(900), "two of a burst of two and another sender's first went without waiting a second")
        let unlimited = SenderPacer(limits: SenderLimits())
        let before = clock.now
        for _ in 0..<50 { try await unlimited.acquire(key: "x"); await unlimited.dispatched(key: "x") }
        #expect(clock.now - before < .milliseconds(900))
    }
}
