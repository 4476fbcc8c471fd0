import Foundation
@testable import HeraldWorker
import Testing

/// Services wait for startup on a latch, not by polling (issue 23).
@Suite struct StartupLatchTests {
    @Test func waitersWakeWhenStartupFinishesAndLaterOnesDoNotWait() async {
        let latch = StartupLatch()
        let waiters = (0..<5).map { _ in Task { await latch.wait() } }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!latch.isDone)
        latch.finish()
        for waiter in waiters { #expect(await waiter.value) }
        #expect(await latch.wait(), "once done, a wait returns at once")
    }

    @Test func aCancelledWaitEndsWithoutStartup() async {
        let latch = StartupLatch()
        let early = Task { await latch.wait() }
        early.cancel()  // possibly before it registered
        #expect(await early.value == false)
        let waiting = Task { await latch.wait() }
        try? await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == false)
        latch.finish()
        #expect(await latch.wait())
    }
}
