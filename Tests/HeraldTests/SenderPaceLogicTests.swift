import HeraldCore
@testable import HeraldOutbox
import Testing

/// The rate arithmetic the claim statement and the drivers' pacers share (``Pace``), and
/// how configured limits become the claim's parameters.
@Suite struct SenderPaceLogicTests {
    @Test func aPaceRefusesRatesAndBurstsOutOfRange() {
        #expect(Pace(perSecond: 0) == nil && Pace(perSecond: .nan) == nil && Pace(perSecond: .infinity) == nil)
        #expect(Pace(perSecond: 100_001) == nil && Pace(perSecond: 1, burst: 0) == nil && Pace(perSecond: 1, burst: 10_001) == nil)
        #expect(Pace(perSecond: 0.001)?.step == 1000 * Pace.margin && Pace(perSecond: 100_000, burst: 10_000) != nil)
        #expect(Pace(perSecond: 2)?.perSecond == 2, "the configured rate; the spacing keeps a margin under it")
    }

    @Test func tokensComeOneAStepUpToTheBurst() throws {
        let pace = try #require(Pace(perSecond: 2, burst: 3))  // one every 0.5 s, and the margin
        let step = pace.step
        #expect(abs(step - 0.5 * Pace.margin) < 1e-12)
        #expect(pace.tokens(at: 100, tat: nil) == 3, "never used: the whole burst")
        #expect(pace.tokens(at: 100, tat: -.infinity) == 3)
        let spent = pace.spend(3, at: 100, tat: nil)
        #expect(spent == 100 + 3 * step)
        #expect(pace.tokens(at: 100, tat: spent) == 0)
        #expect(pace.tokens(at: 100 + step - 0.01, tat: spent) == 0)
        #expect(pace.tokens(at: 100 + step, tat: spent) == 1)
        #expect(pace.tokens(at: 100 + 2 * step, tat: spent) == 2)
        #expect(pace.tokens(at: 500, tat: spent) == 3, "a quiet spell banks no more than the burst")
        #expect(pace.readyAt(tat: spent) == spent - 2 * step)
        #expect(pace.tokens(at: 100, tat: .infinity) == 0 && pace.tokens(at: 100, tat: .nan) == 0)
        #expect(pace.tokens(at: .infinity, tat: nil) == 0 && pace.tokens(at: .nan, tat: 5) == 0 && pace.tokens(at: -.infinity, tat: nil) == 0)
        #expect((0...3).contains(pace.tokens(at: 1e300, tat: -1e300)) && (0...3).contains(pace.tokens(at: -1e300, tat: nil)),
                "absurd clocks: no trap, never more than the burst")
        let fastest = try #require(Pace(perSecond: 100_000, burst: 10_000))
        #expect(fastest.tokens(at: 100, tat: nil) == 10_000)
    }

    @Test func aPacerReservesSlotsInOrder() throws {
        let pace = try #require(Pace(perSecond: 1))
        var tat: Double?
        var slots: [Double] = []
        for _ in 0..<3 {
            let r = pace.reserve(at: 10, tat: tat)
            slots.append(r.slot)
            tat = r.tat
        }
        #expect(zip(slots, [10, 10 + pace.step, 10 + 2 * pace.step]).allSatisfy { abs($0 - $1) < 1e-9 }, "\(slots)")
        let burst = try #require(Pace(perSecond: 1, burst: 2))
        let a = burst.reserve(at: 10, tat: nil)
        let b = burst.reserve(at: 10, tat: a.tat)
        let c = burst.reserve(at: 10, tat: b.tat)
        #expect([a.slot, b.slot, c.slot] == [10, 10, 10 + burst.step])
        #expect(burst.reserve(at: 50, tat: c.tat).slot == 50, "after a quiet spell: at once")
    }

    @Test func configuredLimitsBecomeTheClaimsParameters() throws {
        let limits = ClaimLimits([
            "sms": SenderLimits(perSender: Pace(perSecond: 1), senders: ["+34911234567": Pace(perSecond: 3)!],
                                ceiling: Pace(perSecond: 50, burst: 5), defaultSender: "+34911234567"),
            "email": SenderLimits(senders: ["sol.example": Pace(perSecond: 10)!]),
        ])
        #expect(limits.channels == ["email", "sms", "sms", "sms"])
        #expect(limits.keys == ["sol.example", "*", "+34911234567", ""], "the channel's own sender is also named ''")
        #expect(zip(limits.steps, [0.1, 1, 1.0 / 3, 1.0 / 3].map { $0 * Pace.margin }).allSatisfy { abs($0 - $1) < 1e-12 }, "\(limits.steps)")
        #expect(limits.ceilingChannels == ["sms"] && limits.ceilingBursts == [5])
        #expect(ClaimLimits([:]) == ClaimLimits())
    }

    @Test func emailSendersAreLimitedByDomain() {
        #expect(SenderLimits.key(channel: "email", sender: "Clínica <Citas@Clinica.Example>") == "clinica.example")
        #expect(SenderLimits.key(channel: "sms", sender: "+34911234567") == "+34911234567")
        #expect(SenderLimits.key(channel: "sms", sender: nil) == "")
        #expect(SenderLimits(perSender: Pace(perSecond: 1), senders: ["+1": Pace(perSecond: 9)!], defaultSender: "+1").pace(forKey: "") == Pace(perSecond: 9))
    }
}
