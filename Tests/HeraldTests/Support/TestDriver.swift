import Foundation
import HeraldCore
import HeraldDrivers
import Synchronization

/// A real driver (it implements the protocol the worker uses) whose behaviour a test scripts:
/// `respond` decides each delivery; every call is counted per message.
final class ScriptedDriver: Driver, Sendable {
    let name = "scripted"
    private let calls = Mutex<[Int64: Int]>([:])
    private let log = Mutex<[(id: Int64, attempt: Int, at: ContinuousClock.Instant)]>([])
    private let last = Mutex<[Int64: RenderedMessage]>([:])
    private let respond: @Sendable (RenderedMessage, Int) async throws -> DeliveryReceipt

    /// `respond` gets the message and how many times this driver has now seen it (1-based).
    init(_ respond: @escaping @Sendable (RenderedMessage, Int) async throws -> DeliveryReceipt = { m, _ in
        DeliveryReceipt(providerMessageID: "p-\(m.id)")
    }) {
        self.respond = respond
    }

    func deliver(_ message: RenderedMessage) async throws -> DeliveryReceipt {
        let n = calls.withLock { c -> Int in
            c[message.id, default: 0] += 1
            return c[message.id]!
        }
        log.withLock { $0.append((message.id, message.attempt, .now)) }
        last.withLock { $0[message.id] = message }
        return try await respond(message, n)
    }

    /// The last rendered message handed over for each id: exactly what a provider would get.
    var received: [Int64: RenderedMessage] { last.withLock { $0 } }

    /// How many times each message was handed to this driver.
    var deliveries: [Int64: Int] { calls.withLock { $0 } }

    /// When each call for `id` happened.
    func times(of id: Int64) -> [ContinuousClock.Instant] {
        log.withLock { $0.filter { $0.id == id }.map(\.at) }
    }
}
