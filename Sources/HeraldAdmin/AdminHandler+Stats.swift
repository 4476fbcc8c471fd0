import Foundation
import HeraldAdminAPI
import HeraldCore
import HeraldOutbox

/// The dashboard's figures and the search for a client.
extension AdminHandler {
    /// A due message older than this means the daemon is not keeping up (or not running).
    static let behindAfterSeconds = 300.0

    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let hours = input.query.hours ?? 24
            guard (1...744).contains(hours) else { throw APIProblem.badRequest("hours must be from 1 to 744") }
            let figures = try await service.stats(hours: hours)
            var health = [Components.Schemas.Health(part: .database, ok: true, detail: "schema version \(figures.status.schemaVersion)")]
            if let age = figures.status.oldestDueAgeSeconds, age > Self.behindAfterSeconds {
                health.append(.init(part: .daemon, ok: false, detail: "the oldest due message has waited \(Int(clampingRounded: age / 60)) min"))
            } else {
                health.append(.init(part: .daemon, ok: true, detail: "nothing due has waited more than \(Int(Self.behindAfterSeconds / 60)) min"))
            }
            if let listener = service.settings.listenerHealth {
                let (ok, detail) = await listener()
                health.append(.init(part: .listener, ok: ok, detail: detail))
            } else {
                health.append(.init(part: .listener, ok: true, detail: "not configured ([http] listen)"))
            }
            return .ok(.init(body: .json(.init(
                hours: hours,
                series: figures.series.map { .init(hour: $0.hour, sent: $0.sent, failed: $0.failed, undelivered: $0.undelivered) },
                topFailures: figures.reasons.map { .init(reason: $0.reason, count: $0.count) },
                health: health))))
        }
    }

    func searchContacts(_ input: Operations.SearchContacts.Input) async throws -> Operations.SearchContacts.Output {
        await serve(.viewer, action: nil, problem: { .default(statusCode: $0, .init(body: .applicationProblemJson($1))) }) { _, _ in
            let text = try Self.short(input.query.q.trimmingCharacters(in: .whitespaces), "q")
            guard text.count >= 2 else { throw APIProblem.badRequest("q: 2 characters at least") }
            let limit = try Self.pageSize(input.query.limit)
            let hits = try await db { try await $0.admin.searchContacts(text, limit: limit) }
            return .ok(.init(body: .json(hits.map { .init(id: $0.id, name: $0.name, email: $0.email, phone: $0.phone) })))
        }
    }
}

/// The dashboard's figures as read (shared by whoever asks within a few seconds).
struct StatsFigures: Sendable {
    var series: [AdminStore.HourCounts]
    var reasons: [(reason: String, count: Int)]
    var status: StatusReport
}
