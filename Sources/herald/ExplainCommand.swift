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
        abstract: "Why hasn't message ID gone out? What the scheduling rules decide for it at an instant (default now).",
        discussion: "Runs exactly what the worker runs for a claimed message (the scheduling rules, then rendering), with the same configuration, locations and templates. Prints a human line, then JSON.")

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
        let store = OutboxStore(connection: connection, workerID: "explain")
        let found: (message: OutboxMessage, status: MessageStatus)?
        let pipeline: Pipeline
        do {
            found = try await store.message(id: id)
            let catalog = TemplateCatalog(records: BuiltinTemplates.withReplies(try await store.templates()), partials: try await store.partials(),
                                          defaultLocale: config.defaultLocale)
            pipeline = Pipeline(catalog: catalog, planner: SchedulePlanner(policy: config.scheduling, records: try await store.locations()),
                                smsMaxSegments: config.smsMaxSegments)
        } catch {
            throw fail("explain failed: \(error)")
        }
        guard let (message, status) = found else { throw fail("no message \(id)") }

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
        if status.isFinished {
            json["note"] = "the message is \(status); the rules only apply to pending messages"
        }
        print(line)
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
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
        let report: OutboxStore.EventReport?
        do {
            report = try await OutboxStore(connection: connection, workerID: "explain").eventReport(id)
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
