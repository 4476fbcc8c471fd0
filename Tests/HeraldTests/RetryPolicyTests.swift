import HeraldCore
import Testing

/// The retry decision, for every error class and attempt position, without I/O.
@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(backoff: Backoff(base: .seconds(10), cap: .seconds(300), jitter: true), maxAttempts: 4)

    @Test(arguments: 1...3)
    func transientErrorsWithAttemptsLeftRetryAfterTheBackoff(attempt: Int) {
        let bound = Duration.seconds(min(300, 10 * (1 << (attempt - 1))))
        #expect(policy.next(after: .transient("busy", code: "503"), attempt: attempt) { 0 } == .retry(after: bound / 2, reason: "busy"))
        #expect(policy.next(after: .transient("busy", code: "503"), attempt: attempt) { 1 } == .retry(after: bound, reason: "busy"))
    }

    @Test func theLastAttemptGivesUp() {
        #expect(policy.next(after: .transient("busy"), attempt: 4) == .fail(reason: "gave up after 4 attempts: busy"))
        #expect(policy.next(after: .transient("busy"), attempt: 9) == .fail(reason: "gave up after 9 attempts: busy"))
    }

    @Test func theRowsOwnMaximumWins() {
        #expect(policy.next(after: .transient("busy"), attempt: 1, rowMaximum: 1) == .fail(reason: "gave up after 1 attempts: busy"))
        guard case .retry = policy.next(after: .transient("busy"), attempt: 6, rowMaximum: 10) else { Issue.record("row maximum ignored"); return }
    }

    @Test(arguments: [DeliveryError.permanent("no such number", code: "21211"), .optedOut("STOP", code: "21610")])
    func permanentErrorsAndOptOutsStopAtOnce(error: DeliveryError) {
        #expect(policy.next(after: error, attempt: 1) == .fail(reason: error.reason))
    }

    @Test func retryAfterIsAFloorUpToADay() {
        #expect(policy.next(after: .transient("slow", retryAfter: .seconds(120)), attempt: 1) { 1 } == .retry(after: .seconds(120), reason: "slow"))
        #expect(policy.next(after: .transient("slow", retryAfter: .seconds(2)), attempt: 1) { 1 } == .retry(after: .seconds(10), reason: "slow"))
        #expect(policy.next(after: .transient("slow", retryAfter: .seconds(10_000_000_000_000)), attempt: 1) { 1 }
            == .retry(after: Backoff.maximumRetryAfter, reason: "slow"))
    }

    @Test func reasonsAreCleanedAndCapped() {
        let step = policy.next(after: .permanent("bad\0request " + String(repeating: "x", count: 5000)), attempt: 1)
        guard case .fail(let reason) = step else { Issue.record("\(step)"); return }
        #expect(reason.hasPrefix("bad request x") && reason.utf8.count <= SafeText.errorLimit)
    }
}
