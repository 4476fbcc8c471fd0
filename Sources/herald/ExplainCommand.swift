import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldPipeline
import HeraldRender
import HeraldScheduling

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Why hasn't message ID gone out, or what happened to it.",
        discussion: "For a pending message, runs exactly what the worker runs for a claimed message (the scheduling rules, then rendering) at an instant (default now), with the same configuration, locations and templates. For any other, prints what happened: its status and stored reason, where its address came from, each attempt (driver, outcome, provider code) and each receipt. Prints human lines, then JSON.")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "Message id.") var id: Int64?
    @Option(name: .long, help: "Explain an event instead (herald.event id): the rules it matched, the messages it created, skipped and cancelled.")
    var event: Int64?
    @Option(help: "Instant to decide at, ISO 8601 (default now).") var at: String?

    func run() async throws {
        let config = try options.load()
        if let event {
            try await explainEvent(event, config: config)
            return
        }
        guard let id else { throw fail("give a message id, or --event ID", code: 64) }
        var instant = Date()
        if let at {
            guard let parsed = parseInstant(at) else { throw fail("--at: not an ISO 8601 instant: \(at)", code: 64) }
            instant = parsed
        }
        let connection = try await openConnection(config)
        let store = Stores(connection: connection)
        let found: (message: OutboxMessage, status: MessageStatus)?
        let history: MessageStore.MessageHistory?
        do {
            found = try await store.messages.message(id: id)
            history = try await store.messages.messageHistory(id: id)
        } catch {
            throw fail("explain failed: \(error)")
        }
        guard let (message, status) = found, let history else { throw fail("no message \(id)") }
        if status != .pending {
            printHistory(id, history)
            return
        }
        // Only a pending message is planned: the templates and locations are read for it alone.
        let pipeline = try await loadPipeline(config, store: store, now: instant)

        var json: [String: Any] = [
            "message": id, "status": status.rawValue, "channel": message.channel, "at": iso(instant),
        ]
        func explained(_ e: Explanation) -> String {
            json["decision"] = e.decision.name
            json["time_zone"] = e.timeZone
            json["earliest"] = iso(e.earliest)
            json["summary"] = e.summary
            return "message \(id) (\(status)): \(e.summary)"
        }
        // Exactly the worker's decision: the rules, then rendering.
        let line: String
        switch pipeline.decide(message, at: instant) {
        case .failed(let failure):
            json["decision"] = "fail"
            json["reason"] = failure.reason
            line = "message \(id) (\(status)): would fail: \(failure.reason)"
        case .send(_, let e):
            line = explained(e)
        case .deferred(let until, let reasons, let e):
            line = explained(e)
            json["until"] = iso(until)
            json["reasons"] = reasons
        case .expired(let reason, let e):
            line = explained(e)
            json["reason"] = reason
        }
        json.merge(Self.addressFields(history)) { _, new in new }
        print(line)
        print(Self.addressLine(history))
        if let last = history.lastError { print("  last: \(last)") }
        for attempt in history.attempts { print("  attempt \(attempt)") }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    /// A message that is no longer pending: what happened, from the record (the planner is
    /// not run: its rules applied when the message was due, and `last_error` says what they decided).
    private func printHistory(_ id: Int64, _ h: MessageStore.MessageHistory) {
        var summary = "message \(id) (\(h.status))"
        if let last = h.lastError { summary += ": \(last)" }
        print(summary)
        print(Self.addressLine(h))
        if let sent = h.sentAt { print("  sent \(sent)") }
        if let delivered = h.deliveredAt { print("  delivered \(delivered)") }
        if h.attempts.isEmpty { print("  no attempt: it never reached a driver") }
        for attempt in h.attempts { print("  attempt \(attempt)") }
        for receipt in h.receipts { print("  receipt \(receipt)") }
        var json: [String: Any] = ["message": id, "status": h.status, "attempts": h.attempts, "receipts": h.receipts]
        json.merge(Self.addressFields(h)) { _, new in new }
        json["reason"] = h.lastError
        json["sent_at"] = h.sentAt
        json["delivered_at"] = h.deliveredAt
        if let data = try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// `  to +34… (contact ana's phone, …); priority 1; rule …, from event 12`.
    static func addressLine(_ h: MessageStore.MessageHistory) -> String {
        "  to \(h.recipient) (\(h.recipientSource)); priority \(h.priority)\(h.origin.map { "; \($0)" } ?? "")"
            + (h.fallback.map { "\n  \($0)" } ?? "")
    }

    /// The same, for the JSON.
    static func addressFields(_ h: MessageStore.MessageHistory) -> [String: Any] {
        var fields: [String: Any] = ["recipient": h.recipient, "recipient_source": h.recipientSource, "priority": h.priority]
        fields["origin"] = h.origin
        fields["fallback"] = h.fallback
        return fields
    }

    private func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: date)
    }
}

extension Explain {
    /// `herald explain --event ID`: what expanding the event did, from `herald.event_outcome`.
    func explainEvent(_ id: Int64, config: Configuration) async throws {
        let connection = try await openConnection(config)
        let report: EventStore.EventReport?
        do {
            report = try await Stores(connection: connection).events.eventReport(id)
        } catch {
            await connection.close()
            throw fail("explain failed: \(error)")
        }
        await connection.close()
        guard let report else { throw fail("no event \(id)") }
        print(report.summary)
        for line in report.lines { print("  " + line) }
        if !report.rules.isEmpty { print("rules matched: \(report.rules.joined(separator: ", "))") }
    }
}
