import HeraldOutbox
import HeraldPipeline

extension PipelineRows {
    /// Reads them (three statements; call them in one transaction for one snapshot).
    public static func read(from store: OutboxStore) async throws -> PipelineRows {
        PipelineRows(templates: try await store.templates(), partials: try await store.partials(), locations: try await store.locations())
    }
}
