import ArgumentParser
import Foundation
import HeraldConfig
import HeraldCore
import HeraldOutbox
import HeraldScheduling
import HeraldWorker

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Why hasn't message ID gone out? What the scheduling rules decide for it at an instant (default now).",
        discussion: "Runs exactly the rules the worker applies to a claimed message, with the same configuration and locations. Prints a human line, then JSON.")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "Message id.") var id: Int64
    @Option(help: "Instant to decide at, ISO 8601 (default now).") var at: String?

    func run() async throws {
        let config = try options.load()
        var instant = Date()
        if let at {
            guard let parsed = parseInstant(at) else { throw fail("--at: not an ISO 8601 instant: \(at)", code: 64) }
            instant = parsed
        }
        let connection = try await openConnection(config)
        let store = OutboxStore(connection: connection, workerID: "explain")
        let found: (message: OutboxMessage, status: MessageStatus)?
        let planner: SchedulePlanner
        do {
            found = try await store.message(id: id)
            planner = SchedulePlanner(policy: config.scheduling, records: try await store.locations())
        } catch {
            throw fail("explain failed: \(error)")
        }
        guard let (message, status) = found else { throw fail("no message \(id)") }

        var json: [String: Any] = [
            "message": id, "status": status.rawValue, "channel": message.channel, "at": iso(instant),
        ]
        let line: String
        if let channel = Channel(rawValue: message.channel) {
            switch planner.evaluate(message, channel: channel, at: instant) {
            case .failure(let error):
                json["decision"] = "fail"
                json["reason"] = error.description
                line = "message \(id) (\(status)): would fail: \(error)"
            case .success(let e):
                json["decision"] = e.decision.name
                json["time_zone"] = e.timeZone
                json["earliest"] = iso(e.earliest)
                json["summary"] = e.summary
                switch e.decision {
                case .send: break
                case .deferred(let until, let reasons):
                    json["until"] = iso(until)
                    json["reasons"] = reasons
                case .expired(let reason):
                    json["reason"] = reason
                }
                line = "message \(id) (\(status)): \(e.summary)"
            }
        } else {
            json["decision"] = "fail"
            json["reason"] = "unknown channel \"\(message.channel)\""
            line = "message \(id) (\(status)): would fail: unknown channel \"\(message.channel)\""
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
