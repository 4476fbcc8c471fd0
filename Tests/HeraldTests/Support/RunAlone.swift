import Logging
import ServiceLifecycle

/// Runs `service` alone in a group while `body` runs, then shuts the group down
/// gracefully and waits for the service to return.
func runAlone(_ service: any Service, _ body: () async throws -> Void) async throws {
    try await runTogether([service], body)
}

/// Runs `services` in one group (started in order, stopped in reverse) while `body` runs.
func runTogether(_ services: [any Service], _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                  logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }))
    let running = Task { try await group.run() }
    do {
        try await body()
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        throw error
    }
    await group.triggerGracefulShutdown()
    try await running.value
}
